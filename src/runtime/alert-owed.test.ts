import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../ledger/index.js';
import type { AlertRoute, AlertsPolicy, ApprovalRule } from '../policy/index.js';
import type { HoldState } from '../state/index.js';
import {
  expiringAfterRestart,
  missingDeadLetterAlerts,
  missingHoldAlerts,
  readStartEntries,
} from './alert-owed.js';

const NOW = 1_700_000_000_000;
const MIN = 60_000;
const holds: AlertRoute = { id: 'holds', on: ['hold.created'], sink: 's', severity: 'warning', dedupeMs: 0 };
const windowed: AlertRoute = { ...holds, id: 'windowed', dedupeMs: 10 * MIN };
const FROZEN = 'credit-burst|account:1';

function hold(msgId: string, heldAt: number, subject = 'account:1'): HoldState {
  return {
    envelope: { type: 'ticket.opened.v1', correlationid: `c-${msgId}` },
    gated: 'message',
    heldAt,
    msgId,
    subject,
    verdict: {
      decision: 'hold',
      stage: 'breaker',
      rule: 'credit-burst',
      reason: 'breaker.frozen',
      detail: 'frozen',
    },
  } as unknown as HoldState;
}

/** `alert.sent` entries: [at, route, event, key, outcome]. */
async function* sent(rows: readonly [number, string, string, string, string][]) {
  for (const [at, route, event, key, outcome] of rows)
    yield { at, kind: 'alert.sent', data: { route, event, key, outcome } } as unknown as LedgerEntry;
}

describe('missingHoldAlerts', () => {
  it.each<[string, AlertRoute, HoldState[], [number, string, string, string, string][], string[]]>([
    ['a pending hold never alerted: one alert', holds, [hold('m1', NOW - MIN)], [], [`holds m1 ${FROZEN}`]],
    [
      'a pending hold alerted after it was held: nothing',
      holds,
      [hold('m1', NOW - MIN)],
      [[NOW - MIN + 5, 'holds', 'hold.created', FROZEN, 'sent']],
      [],
    ],
    [
      'a pending hold whose alert failed: one alert',
      holds,
      [hold('m1', NOW - MIN)],
      [[NOW - MIN + 5, 'holds', 'hold.created', FROZEN, 'failed']],
      [`holds m1 ${FROZEN}`],
    ],
    [
      'many holds of one key: one alert, about the newest',
      holds,
      [hold('m1', NOW - 3 * MIN), hold('m3', NOW - MIN), hold('m2', NOW - 2 * MIN)],
      [[NOW - 3 * MIN + 5, 'holds', 'hold.created', FROZEN, 'sent']],
      [`holds m3 ${FROZEN}`],
    ],
    [
      'holds of two subjects: one alert each',
      holds,
      [hold('m1', NOW - MIN), hold('m2', NOW - MIN, 'account:2')],
      [],
      [`holds m1 ${FROZEN}`, 'holds m2 credit-burst|account:2'],
    ],
    [
      'a later hold the dedupe window would have swallowed: nothing',
      windowed,
      [hold('m1', NOW - 5 * MIN), hold('m2', NOW - MIN)],
      [[NOW - 5 * MIN + 5, 'windowed', 'hold.created', FROZEN, 'sent']],
      [],
    ],
    [
      'a later hold past the dedupe window: one alert',
      windowed,
      [hold('m1', NOW - 30 * MIN), hold('m2', NOW - MIN)],
      [[NOW - 30 * MIN + 5, 'windowed', 'hold.created', FROZEN, 'sent']],
      [`windowed m2 ${FROZEN}`],
    ],
    [
      'an alert of another route does not count',
      holds,
      [hold('m1', NOW - MIN)],
      [[NOW - MIN + 5, 'windowed', 'hold.created', FROZEN, 'sent']],
      [`holds m1 ${FROZEN}`],
    ],
    ['no pending hold: nothing', holds, [], [[1, 'holds', 'hold.created', FROZEN, 'failed']], []],
  ])('%s', async (_, route, pending, rows, expected) => {
    const read = await readStartEntries(sent(rows));
    const missing = missingHoldAlerts([route], pending, read, NOW);
    expect(missing.map((m) => `${m.route.id} ${m.alarm.msgId} ${m.alarm.key}`)).toEqual(expected);
  });

  it('a route that does not route hold.created owes nothing; the alert is the hold alarm, found at restart', async () => {
    const breakers: AlertRoute = { ...holds, id: 'pd', on: ['breaker.opened'] };
    const read = await readStartEntries(sent([]));
    const missing = missingHoldAlerts([breakers, holds], [hold('m1', NOW - MIN)], read, NOW);
    expect(missing.map((m) => m.route.id)).toEqual(['holds']);
    expect(missing[0]!.alarm).toMatchObject({
      at: NOW,
      event: 'hold.created',
      subject: 'account:1',
      correlationid: 'c-m1',
      rule: 'credit-burst',
      summary: expect.stringContaining('found when the warden restarted'),
      detail: { heldAt: NOW - MIN, reason: 'breaker.frozen' },
    });
  });
});

describe('missingDeadLetterAlerts', () => {
  const letters: AlertRoute = { ...holds, id: 'letters', on: ['dead-letter'] };
  const HOUR = 60 * MIN;
  /** `dead-letter` entries: [at, worker, msgId]. */
  const dead = (rows: readonly [number, string, string][]) =>
    rows.map(
      ([at, agent, msgId]) =>
        ({
          at,
          kind: 'dead-letter',
          agent,
          msgId,
          subject: 'job:1',
          data: { attempt: 3, error: { code: 'MW_RUNTIME_HANDLER', message: 'boom' } },
        }) as unknown as LedgerEntry,
    );
  async function* both(letters: LedgerEntry[], rows: [number, string, string, string, string][]) {
    yield* letters;
    yield* sent(rows);
  }

  it.each<
    [string, AlertRoute, [number, string, string][], [number, string, string, string, string][], string[]]
  >([
    [
      'a dead letter never alerted: one alert',
      letters,
      [[NOW - MIN, 'worker', 'm1']],
      [],
      ['letters m1 worker'],
    ],
    [
      'a dead letter alerted after it: nothing',
      letters,
      [[NOW - MIN, 'worker', 'm1']],
      [[NOW - MIN + 5, 'letters', 'dead-letter', 'worker', 'sent']],
      [],
    ],
    [
      'many dead letters of one worker: one alert, about the newest',
      letters,
      [
        [NOW - 3 * MIN, 'worker', 'm1'],
        [NOW - MIN, 'worker', 'm3'],
        [NOW - 2 * MIN, 'worker', 'm2'],
      ],
      [[NOW - 3 * MIN + 5, 'letters', 'dead-letter', 'worker', 'sent']],
      ['letters m3 worker'],
    ],
    [
      'a later one the dedupe window would have swallowed: nothing',
      { ...letters, dedupeMs: 10 * MIN },
      [[NOW - MIN, 'worker', 'm2']],
      [[NOW - 5 * MIN, 'letters', 'dead-letter', 'worker', 'sent']],
      [],
    ],
    ['one older than the lookback: nothing', letters, [[NOW - 25 * HOUR, 'worker', 'm1']], [], []],
    ["an alert's own dead letter: nothing", letters, [[NOW - MIN, 'alert:holds', 'm1']], [], []],
    ['a route without dead-letter: nothing', holds, [[NOW - MIN, 'worker', 'm1']], [], []],
  ])('%s', async (_, route, rows, alerts, expected) => {
    const read = await readStartEntries(both(dead(rows), alerts));
    const missing = missingDeadLetterAlerts([route], read, NOW);
    expect(missing.map((m) => `${m.route.id} ${m.alarm.msgId} ${m.alarm.key}`)).toEqual(expected);
  });

  it('the alert is the dead letter alarm, found at restart', async () => {
    const read = await readStartEntries(both(dead([[NOW - MIN, 'worker', 'm1']]), []));
    expect(missingDeadLetterAlerts([letters], read, NOW)[0]!.alarm).toMatchObject({
      at: NOW,
      event: 'dead-letter',
      subject: 'job:1',
      summary: expect.stringContaining('found when the warden restarted'),
      detail: { worker: 'worker', code: 'MW_RUNTIME_HANDLER' },
    });
  });
});

describe('expiringAfterRestart', () => {
  const expiring: AlertRoute = { ...holds, id: 'expiring', on: ['hold.expiring'] };
  const settings = (routes: AlertRoute[]): AlertsPolicy => ({
    queue: 100,
    holdExpiringMs: 5 * MIN,
    sinks: new Map(),
    routes,
  });
  const bigCredit = { id: 'big-credit', timeoutMs: 30 * MIN, onTimeout: 'deny' } as ApprovalRule;
  /** A hold under the approval rule big-credit (30 min, warned 5 min before). */
  const approval = (msgId: string, heldAt: number): HoldState => {
    const h = hold(msgId, heldAt);
    return {
      ...h,
      verdict: { ...h.verdict, stage: 'approval', rule: 'big-credit', reason: 'approval.required' },
    };
  };
  const KEY = 'big-credit|account:1';

  it.each<[string, AlertRoute[], HoldState[], [number, string, string, string, string][], string[]]>([
    [
      'a warning still to come: armed again',
      [expiring],
      [approval('m1', NOW - 10 * MIN)],
      [],
      ['m1 on time'],
    ],
    [
      'a warning due while down, never sent: at once, saying so',
      [expiring],
      [approval('m1', NOW - 27 * MIN)],
      [],
      ['m1 late'],
    ],
    [
      'a warning due while down and sent before the crash: nothing',
      [expiring],
      [approval('m1', NOW - 27 * MIN)],
      [[NOW - 2 * MIN + 5, 'expiring', 'hold.expiring', KEY, 'sent']],
      [],
    ],
    [
      'a warning whose send failed: at once',
      [expiring],
      [approval('m1', NOW - 27 * MIN)],
      [[NOW - 2 * MIN + 5, 'expiring', 'hold.expiring', KEY, 'failed']],
      ['m1 late'],
    ],
    [
      'a hold past its timeout: nothing (the timeout says more)',
      [expiring],
      [approval('m1', NOW - 31 * MIN)],
      [],
      [],
    ],
    ['a hold no approval rule made (a frozen subject): nothing', [expiring], [hold('m1', NOW - MIN)], [], []],
    ['no route of hold.expiring: nothing', [holds], [approval('m1', NOW - 10 * MIN)], [], []],
  ])('%s', async (_, routes, pending, rows, expected) => {
    const read = await readStartEntries(sent(rows));
    const { arm, late } = expiringAfterRestart(settings(routes), [bigCredit], pending, read, NOW);
    expect([...arm.map((a) => `${a.msgId} on time`), ...late.map((l) => `${l.alarm.msgId} late`)]).toEqual(
      expected,
    );
  });

  it('sends a late warning only on the routes that had not sent it', async () => {
    const other: AlertRoute = { ...expiring, id: 'other' };
    const read = await readStartEntries(
      sent([[NOW - 2 * MIN + 5, 'expiring', 'hold.expiring', KEY, 'sent']]),
    );
    const { late } = expiringAfterRestart(
      settings([expiring, other]),
      [bigCredit],
      [approval('m1', NOW - 27 * MIN)],
      read,
      NOW,
    );
    expect(late.map((l) => l.route.id)).toEqual(['other']);
    expect(late[0]!.alarm).toMatchObject({
      event: 'hold.expiring',
      key: KEY,
      summary: expect.stringMatching(
        /\(found when the warden restarted: .*\); it times out \(deny\) in about 3 min$/,
      ),
      detail: { heldAt: NOW - 27 * MIN, timeoutAt: NOW + 3 * MIN, onTimeout: 'deny' },
    });
  });

  it('arms with the hold alarm, which carries when it was held', async () => {
    const read = await readStartEntries(sent([]));
    const [armed] = expiringAfterRestart(
      settings([expiring]),
      [bigCredit],
      [approval('m1', NOW - MIN)],
      read,
      NOW,
    ).arm;
    expect(armed).toMatchObject({
      event: 'hold.created',
      rule: 'big-credit',
      key: KEY,
      detail: { heldAt: NOW - MIN },
    });
  });
});
