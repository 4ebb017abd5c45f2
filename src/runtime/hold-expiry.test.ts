import { describe, expect, it } from 'vitest';
import type { AlertsPolicy, Policy } from '../policy/index.js';
import type { AlarmInput } from './alert-input.js';
import { createHoldExpiry, MAX_TIMER_MS, type Timers } from './hold-expiry.js';

const NOW = 1_700_000_000_000;
const DAY = 86_400_000;

/** Timers on a clock the test moves: `advance` fires what is due, in order. */
function fakeTimers() {
  let now = NOW;
  const due = new Map<number, { at: number; fn: () => void }>();
  let next = 0;
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      expect(ms).toBeLessThanOrEqual(MAX_TIMER_MS);
      due.set(++next, { at: now + ms, fn });
      return next;
    },
    clearTimeout: (id) => due.delete(id as number),
  };
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      const first = [...due.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (first === undefined) break;
      due.delete(first[0]);
      now = first[1].at;
      first[1].fn();
    }
    now = until;
  };
  return { timers, advance, clock: () => now, pending: () => due.size };
}

const settings = {
  holdExpiringMs: 15 * 60_000,
  routes: [{ id: 'r', on: ['hold.expiring'], sink: 's', severity: 'warning', dedupeMs: 0 }],
} as unknown as AlertsPolicy;
const policy = { approvals: [{ id: 'big', timeoutMs: 30 * DAY, onTimeout: 'deny' }] } as unknown as Policy;
const created: AlarmInput = {
  at: NOW,
  event: 'hold.created',
  key: 'm1',
  msgId: 'm1',
  rule: 'big',
  summary: 'held',
  detail: { heldAt: NOW },
};

/** A hold expiry on fake timers, under the policy `policyOf` gives at each read; what it raises. */
function expiryOn(policyOf: () => Policy = () => policy) {
  const t = fakeTimers();
  const raised: AlarmInput[] = [];
  const expiry = createHoldExpiry({
    policy: policyOf,
    stillHeld: () => true,
    clock: t.clock,
    raise: (a) => raised.push(a),
    timers: t.timers,
  });
  return { t, raised, expiry };
}

describe('createHoldExpiry', () => {
  it('a 30-day timeout fires 15 min before it, not at once (waits past 2^31-1 ms are chunked)', () => {
    const { t, raised, expiry } = expiryOn();
    expiry.arm(settings, created, NOW);
    t.advance(29 * DAY);
    expect(raised).toEqual([]);
    t.advance(DAY - 15 * 60_000);
    expect(raised.map((a) => a.event)).toEqual(['hold.expiring']);
    // Said when it is said: the warning's time, not the hold's.
    expect(raised[0]!.at).toBe(NOW + 30 * DAY - 15 * 60_000);
    expect(expiry.armed()).toBe(0);
  });

  it('a released hold drops its timer', () => {
    const { t, expiry } = expiryOn();
    expiry.arm(settings, created, NOW);
    expect([expiry.armed(), t.pending()]).toEqual([1, 1]);
    expiry.released('m1');
    expect([expiry.armed(), t.pending()]).toEqual([0, 0]);
  });

  it('a reload times a warning still to come by the new rule and lead, once', () => {
    let now = policy;
    const { t, raised, expiry } = expiryOn(() => now);
    const hour = { ...created, detail: { heldAt: NOW } };
    now = { approvals: [{ id: 'big', timeoutMs: 2 * 3_600_000, onTimeout: 'deliver' }] } as unknown as Policy;
    expiry.arm(settings, hour, NOW); // warns at 1 h 45 min
    t.advance(30 * 60_000);
    // Reloaded: the timeout is now 1 h, warned 30 min before it: due at once (it is 30 min in).
    now = { approvals: [{ id: 'big', timeoutMs: 3_600_000, onTimeout: 'deny' }] } as unknown as Policy;
    expiry.retime({ ...settings, holdExpiringMs: 30 * 60_000 }, [hour], t.clock());
    t.advance(0);
    expect(raised.map((a) => [a.event, (a.detail as { timeoutAt: number }).timeoutAt])).toEqual([
      ['hold.expiring', NOW + 3_600_000],
    ]);
    // Another reload does not warn of it again.
    expiry.retime({ ...settings, holdExpiringMs: 30 * 60_000 }, [hour], t.clock());
    t.advance(3 * 3_600_000);
    expect([raised.length, expiry.armed(), t.pending()]).toEqual([1, 0, 0]);
  });

  it('a reload that adds the route arms the pending holds; one that shortens a timeout past now does not warn', () => {
    let now = policy;
    const { t, raised, expiry } = expiryOn(() => now);
    expiry.arm({ ...settings, routes: [] }, created, NOW); // no route yet: nothing armed
    expect(expiry.armed()).toBe(0);
    expiry.retime(settings, [created], NOW);
    expect(expiry.armed()).toBe(1);
    t.advance(3_600_000);
    now = { approvals: [{ id: 'big', timeoutMs: 60_000, onTimeout: 'deny' }] } as unknown as Policy;
    expiry.retime(settings, [created], t.clock());
    t.advance(0);
    expect([raised.length, expiry.armed()]).toEqual([0, 0]);
  });

  it('a reload that drops the route of hold.expiring drops the warnings still to come', () => {
    const { t, expiry } = expiryOn();
    expiry.arm(settings, created, NOW);
    expiry.retime({ ...settings, routes: [] }, [created], NOW);
    expect([expiry.armed(), t.pending()]).toEqual([0, 0]);
    expiry.arm(settings, created, NOW);
    expiry.retime(undefined, [created], NOW);
    expect([expiry.armed(), t.pending()]).toEqual([0, 0]);
  });
});
