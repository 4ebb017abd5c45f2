import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { LedgerRecord } from '../ledger/index.js';
import type { AlertRoute, AlertSinkSpec, AlertsPolicy, Policy } from '../policy/index.js';
import type { AlertSink, SinkResult } from './alert-sink.js';
import { createAlerter } from './alerter.js';
import type { MeshEvent } from './events.js';
import type { Timers } from './hold-expiry.js';

const NOW = 1_700_000_000_000;
const log = pino({ level: 'silent' });
const spec: AlertSinkSpec = {
  name: 's',
  type: 'webhook',
  url: 'http://127.0.0.1:9/h',
  timeoutMs: 1000,
  retries: 0,
};
const route: AlertRoute = {
  id: 'r',
  on: ['breaker.opened', 'breaker.closed', 'hold.created'],
  sink: 's',
  severity: 'critical',
  dedupeMs: 600_000,
};

function policyWith(alerts: Partial<AlertsPolicy>): Policy {
  const settings: AlertsPolicy = {
    queue: 100,
    holdExpiringMs: 0,
    sinks: new Map([['s', spec]]),
    routes: [route],
    ...alerts,
  };
  return { mesh: 'm', approvals: [], alerts: settings } as unknown as Policy;
}

/** An alerter over `sink`, with a policy the test may swap, and what it records and publishes. */
function harness(
  sink: AlertSink,
  policy: Policy,
  closeWaitMs?: number,
  time: { clock?: () => number; timers?: Timers } = {},
) {
  const current = { policy };
  const records: LedgerRecord[] = [];
  const events: MeshEvent[] = [];
  let n = 0;
  const alerter = createAlerter({
    policy: () => current.policy,
    sinks: new Map([['s', sink]]),
    append: async (r) => {
      await new Promise((resolve) => setImmediate(resolve));
      records.push(r);
    },
    publish: (e) => events.push(e),
    partitionOf: () => 0,
    stillHeld: () => true,
    clock: time.clock ?? (() => NOW),
    ...(time.timers === undefined ? {} : { timers: time.timers }),
    newId: () => `a${++n}`,
    log,
    ...(closeWaitMs === undefined ? {} : { closeWaitMs }),
  });
  const alarm = (event: 'breaker.opened' | 'breaker.closed' | 'hold.created', key: string) =>
    alerter.offer({ type: 'alarm', at: NOW, partition: 0, event, key, summary: `${event} ${key}` });
  return { alerter, current, records, events, alarm };
}

/** A sink that answers ok, remembering what it was sent. */
function okSink(seen: string[]): AlertSink {
  return {
    send: async (m) => {
      seen.push(`${m.event} ${m.key}`);
      return { ok: true, attempts: 1 };
    },
  };
}

const outcomes = (records: LedgerRecord[]) => records.map((r) => [r.data.event, r.data.key, r.data.outcome]);

describe('createAlerter', () => {
  it('a resolve is never rate-limited: every held breaker that closes is resolved', async () => {
    const seen: string[] = [];
    const rated = { ...route, rate: { intervalMs: 60_000, burst: 1, text: '1/min' } };
    const h = harness(okSink(seen), policyWith({ routes: [rated] }));
    h.alarm('breaker.opened', 'a');
    h.alarm('breaker.opened', 'b'); // past the rate: held back
    h.alarm('breaker.closed', 'a');
    h.alarm('breaker.closed', 'b');
    await h.alerter.close();
    expect(seen).toEqual(['breaker.opened a', 'breaker.closed a', 'breaker.closed b']);
  });

  it('a storm past the rate: once a token is back, the latest held alert is sent, counting the others', async () => {
    let now = NOW;
    const due: { at: number; fn: () => void }[] = [];
    const timers: Timers = {
      setTimeout: (fn, ms) => due.push({ at: now + ms, fn }),
      clearTimeout: () => {},
    };
    const seen: string[] = [];
    const rated = { ...route, rate: { intervalMs: 60_000, burst: 1, text: '1/min' } };
    const h = harness(okSink(seen), policyWith({ routes: [rated] }), undefined, { clock: () => now, timers });
    for (let i = 0; i < 10; i++) h.alarm('hold.created', `m${i}`);
    expect(seen).toEqual(['hold.created m0']);
    for (let i = 0; i < 5 && due.length > 0; i++) {
      const next = due.shift()!;
      now = next.at;
      next.fn();
    }
    await h.alerter.close();
    expect(seen).toEqual(['hold.created m0', 'hold.created m9']);
    // Ten in all: one, then the latest carrying the eight others.
    expect(h.records.map((r) => r.data.suppressed)).toEqual([0, 8]);
  });

  it('a resolve is never overflowed by a full queue', async () => {
    const seen: string[] = [];
    const h = harness(okSink(seen), policyWith({ queue: 0 }));
    h.alarm('breaker.opened', 'a');
    h.alarm('breaker.closed', 'a');
    await h.alerter.close();
    expect(seen).toEqual(['breaker.closed a']);
    expect(outcomes(h.records)).toEqual([
      ['breaker.opened', 'a', 'overflow'],
      ['breaker.closed', 'a', 'sent'],
    ]);
  });

  it('an overflowed alert is not remembered as sent: the same event is sent once the queue has room', async () => {
    const seen: string[] = [];
    const h = harness(okSink(seen), policyWith({ queue: 0 }));
    h.alarm('hold.created', 'm1');
    h.current.policy = policyWith({ queue: 10 });
    h.alarm('hold.created', 'm1');
    await h.alerter.close();
    expect(seen).toEqual(['hold.created m1']);
    expect(outcomes(h.records)).toEqual([
      ['hold.created', 'm1', 'overflow'],
      ['hold.created', 'm1', 'sent'],
    ]);
    expect(h.records[1]!.data.suppressed).toBe(1);
  });

  it.each<[string, AlertSink['send']]>([
    [
      'throws',
      () => {
        throw new Error('boom');
      },
    ],
    [
      'rejects',
      async () => {
        throw new Error('boom');
      },
    ],
  ])('a sink that %s: recorded as failed with a code, and the alerter goes on', async (_, send) => {
    const h = harness({ send }, policyWith({}));
    h.alarm('breaker.opened', 'a');
    h.alarm('breaker.opened', 'b');
    await h.alerter.close();
    expect(h.records.map((r) => [r.data.outcome, (r.data.error as { code: string }).code])).toEqual([
      ['failed', 'MW_RUNTIME_ALERT_SINK_THREW'],
      ['failed', 'MW_RUNTIME_ALERT_SINK_THREW'],
    ]);
    expect(h.events.filter((e) => e.type === 'dead-letter').length).toBe(2);
  });

  it('a reload that changes a sink: its routes fail loudly (MW_RUNTIME_ALERT_SINK), the old sink gets nothing', async () => {
    const seen: string[] = [];
    const h = harness(okSink(seen), policyWith({}));
    const changed = { ...spec, url: 'http://127.0.0.1:9/other' };
    h.current.policy = policyWith({ sinks: new Map([['s', changed]]) });
    h.alarm('breaker.opened', 'a');
    await h.alerter.close();
    expect(seen).toEqual([]);
    expect(h.records.map((r) => (r.data.error as { code: string }).code)).toEqual(['MW_RUNTIME_ALERT_SINK']);
    // Pilots see it where they see every undelivered alert: a dead letter on the live feed.
    expect(h.events.filter((e) => e.type === 'dead-letter')).toEqual([
      expect.objectContaining({ worker: 'alert:r', code: 'MW_RUNTIME_ALERT_SINK' }),
    ]);
  });

  it('a reload that adds alerts to a mesh started without: recorded as failed, not silent', async () => {
    const h = harness(okSink([]), { mesh: 'm', approvals: [] } as unknown as Policy);
    h.current.policy = policyWith({});
    h.alarm('breaker.opened', 'a');
    await h.alerter.close();
    expect(h.records.map((r) => (r.data.error as { code: string }).code)).toEqual(['MW_RUNTIME_ALERT_SINK']);
  });

  it('close() with a receiver that never answers: aborts the send and records it before it returns', async () => {
    const hanging: AlertSink = {
      send: (_, signal) =>
        new Promise<SinkResult>((resolve) =>
          signal?.addEventListener('abort', () =>
            resolve({ ok: false, attempts: 1, error: { code: 'MW_INTEROP_ALERT_SEND' } as never }),
          ),
        ),
    };
    const h = harness(hanging, policyWith({}), 20);
    h.alarm('breaker.opened', 'a');
    await h.alerter.close();
    expect(outcomes(h.records)).toEqual([['breaker.opened', 'a', 'failed']]);
  });
});
