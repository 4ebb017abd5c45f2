import { describe, expect, it } from 'vitest';
import type { Envelope } from '../envelope/index.js';
import type { LedgerRecord } from '../ledger/index.js';
import type { StateDelta } from '../state/index.js';
import { alarmsOf, driftAlarmRecords, raisesAlarm } from './alarms.js';
import { alarmOf, linkOf } from './alert-input.js';
import type { MeshEvent } from './events.js';

const NOW = 1_700_000_000_000;
const open: StateDelta = {
  kind: 'breaker-open',
  key: 'br|credit-burst|account:8841',
  state: { state: 'open', action: 'freeze', openedAt: NOW, by: 'credit-burst' },
};
const close: StateDelta = { kind: 'breaker-close', key: 'br|credit-burst|account:8841' };
const envelope = { id: 'm1', type: 'credit.issue', subject: 'account:8841', correlationid: 'c1' } as Envelope;
const held: StateDelta = {
  kind: 'hold-open',
  hold: {
    envelope,
    gated: 'effect',
    heldAt: NOW,
    msgId: 'm1',
    subject: 'account:8841',
    verdict: {
      decision: 'hold',
      stage: 'breaker',
      reason: 'breaker.frozen',
      rule: 'credit-burst',
      detail: 'frozen',
    },
  },
};
const decision = (deltas: StateDelta[]): LedgerRecord => ({
  kind: 'decision',
  at: NOW,
  msgId: 'm1',
  correlationId: 'c1',
  data: { deltas: deltas as never },
});

describe('alarmsOf', () => {
  it.each<[string, LedgerRecord[], StateDelta[], [string, string][]]>([
    ['a decision that opens a breaker', [decision([open])], [], [['breaker.opened', open.key]]],
    // One alert per rule and subject: a frozen account's held messages do not page one by one.
    ['a decision that holds', [decision([held])], [], [['hold.created', 'credit-burst|account:8841']]],
    [
      'a pilot reset (deltas given beside the record)',
      [{ kind: 'pilot.action', at: NOW, data: {} }],
      [close],
      [['breaker.closed', close.key]],
    ],
    ['a decision with neither', [decision([{ kind: 'seen', id: 'x', at: NOW }])], [], []],
  ])('%s', (_, records, extra, expected) => {
    expect(alarmsOf(NOW, 3, records, extra).map((a) => [a.event, a.key])).toEqual(expected);
  });

  it("says who closed a breaker, and the pilot's reason", () => {
    const reset: LedgerRecord = {
      kind: 'pilot.action',
      at: NOW,
      agent: 'pilot:ana',
      data: { reason: 'mailer loop fixed' },
    };
    const [alarm] = alarmsOf(NOW, 3, [reset], [close]);
    expect(alarm?.detail).toMatchObject({ by: 'pilot:ana', reason: 'mailer loop fixed' });
  });

  it('names the breaker, the subject and the message that tripped it', () => {
    const [alarm] = alarmsOf(NOW, 3, [decision([open])]);
    expect(alarm).toMatchObject({
      partition: 3,
      msgId: 'm1',
      correlationid: 'c1',
      subject: 'account:8841',
      rule: 'credit-burst',
    });
  });

  it.each<[StateDelta[] | undefined, boolean]>([
    [undefined, false],
    [[{ kind: 'seen', id: 'x', at: NOW }], false],
    [[open], true],
    [[held], true],
  ])('raisesAlarm(%j) is %s', (deltas, expected) => {
    expect(raisesAlarm(deltas)).toBe(expected);
  });
});

describe('alarmOf', () => {
  it.each<[string, MeshEvent, [string, string] | undefined]>([
    [
      'a dead letter, keyed by its worker',
      {
        type: 'dead-letter',
        at: NOW,
        msgId: 'm',
        worker: 'churn@2.0.1',
        code: 'MW_RUNTIME_HANDLER',
        message: 'x',
      },
      ['dead-letter', 'churn@2.0.1'],
    ],
    [
      'an alert’s own dead letter raises nothing',
      {
        type: 'dead-letter',
        at: NOW,
        msgId: 'm',
        worker: 'alert:audit',
        code: 'MW_INTEROP_ALERT_SEND',
        message: 'x',
      },
      undefined,
    ],
    [
      'a predicate error, keyed by its rule',
      {
        type: 'alert',
        at: NOW,
        alert: 'predicate_error',
        msgId: 'm',
        rule: 'big',
        reason: 'approval.predicate_error',
        detail: 'd',
      },
      ['predicate.error', 'big'],
    ],
    [
      'a delivery raises nothing',
      { type: 'delivered', at: NOW, msgId: 'm', correlationid: 'c', agent: 'a', emitted: [] },
      undefined,
    ],
  ])('%s', (_, event, expected) => {
    const alarm = alarmOf(event);
    expect(alarm === undefined ? undefined : [alarm.event, alarm.key]).toEqual(expected);
  });

  it.each<[string | undefined, string | undefined, string, string | undefined]>([
    [undefined, 'm1', 'breaker.opened', undefined],
    ['http://w:7070', 'm/1', 'hold.created', 'http://w:7070/#/message/m%2F1'],
    ['http://w:7070', undefined, 'breaker.closed', 'http://w:7070/#/breakers'],
  ])('linkOf(%s, %s, %s)', (console, msgId, event, expected) => {
    const alarm = {
      at: NOW,
      event,
      key: 'k',
      summary: '',
      ...(msgId === undefined ? {} : { msgId }),
    } as never;
    expect(linkOf(console, alarm)).toBe(expected);
  });
});

describe('drift alarms', () => {
  const alarm: StateDelta = {
    kind: 'drift-alarm',
    alarm: {
      action: 'freeze',
      agent: 'optimizer@2.1.0',
      at: NOW,
      baseline: '2.0.0',
      baselineCount: 300,
      baselineMean: 0,
      current: '2.1.0',
      currentCount: 50,
      currentMean: 1,
      field: '/deltaPct',
      metric: 'psi',
      monitor: 'optimizer-delta',
      score: 2.5,
      threshold: 0.2,
      type: 'budget.adjusted.v1',
    },
  };
  const sample: StateDelta = {
    kind: 'drift-sample',
    sample: { monitor: 'optimizer-delta', version: '2.1.0', at: NOW, windowMs: 3_600_000, values: [1] },
  };

  it('raises drift.alarm for a drift-alarm delta, and nothing for a sample', () => {
    expect(raisesAlarm([sample])).toBe(false);
    expect(raisesAlarm([sample, alarm])).toBe(true);
    const [a] = alarmsOf(NOW, 0, [decision([sample, alarm])]);
    expect(a).toMatchObject({
      event: 'drift.alarm',
      key: `drift|optimizer-delta|optimizer@2.1.0|${NOW}`,
      subject: 'optimizer',
      msgId: 'm1',
      rule: 'optimizer-delta',
      detail: { score: 2.5, baseline: '2.0.0' },
    });
    expect(a!.summary).toContain('optimizer@2.1.0');
  });

  it('writes one drift.alarm entry per alarm, carrying no state', () => {
    const records = driftAlarmRecords([decision([sample, alarm]), decision([sample])]);
    expect(records).toEqual([
      expect.objectContaining({ kind: 'drift.alarm', msgId: 'm1', agent: 'drift:optimizer-delta' }),
    ]);
    expect(records[0]!.data.deltas).toBeUndefined();
    expect(records[0]!.data.summary).toEqual(expect.any(String));
  });
});
