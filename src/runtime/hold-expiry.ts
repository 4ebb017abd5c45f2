import type { AlertsPolicy, ApprovalRule, Policy } from '../policy/index.js';
import type { AlarmInput } from './alert-input.js';

/** How many warned holds are remembered, so that a reload does not warn of them again. */
const MAX_WARNED = 100_000;

/** setTimeout's longest delay (2^31-1 ms, about 24.8 days): a longer one fires at once, so waits are chunked. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `hold.expiring`: `alerts.holdExpiring` before an approval hold's timeout, if it is still held then. */
export type HoldExpiry = {
  arm(settings: AlertsPolicy, created: AlarmInput, now: number): void;
  /**
   * The policy was reloaded: the warning of each pending hold (`holds`, their `hold.created` alarms)
   * not warned of yet is timed by its rule and `holdExpiring` as they are now (none when `settings`
   * is undefined or routes no `hold.expiring`).
   */
  retime(settings: AlertsPolicy | undefined, holds: readonly AlarmInput[], now: number): void;
  /** The hold was released: its timer goes. */
  released(msgId: string): void;
  /** Timers armed (one per hold still waiting). */
  armed(): number;
  close(): void;
};

/** Timers the alerter arms (Node's, unref'd, by default): tests pass their own to move time. */
export type Timers = {
  readonly setTimeout: (fn: () => void, ms: number) => unknown;
  readonly clearTimeout: (timer: unknown) => void;
};

export const NODE_TIMERS: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};

/**
 * When a hold under an approval rule times out, and when `hold.expiring` warns of it: `lead` before,
 * or half-way when the timeout is shorter than twice the lead (it would warn at once, beside
 * `hold.created`). Pure.
 */
export function expiryTimes(
  holdExpiringMs: number,
  timeoutMs: number,
  heldAt: number,
): { readonly warnAt: number; readonly timeoutAt: number } {
  const timeoutAt = heldAt + timeoutMs;
  return { warnAt: timeoutAt - Math.min(holdExpiringMs, timeoutMs / 2), timeoutAt };
}

/** The `hold.expiring` alarm of a hold (`created`, its `hold.created` alarm), said at `now`. Pure. */
export function expiringAlarm(
  created: AlarmInput,
  rule: Pick<ApprovalRule, 'onTimeout'>,
  timeoutAt: number,
  now: number,
): AlarmInput {
  const left = Math.max(0, timeoutAt - now);
  const when = left < 90_000 ? `${Math.round(left / 1000)} s` : `about ${Math.round(left / 60_000)} min`;
  return {
    ...created,
    // The warning's own time (a CloudEvent's `time`, PagerDuty's `timestamp`), not the hold's.
    at: now,
    event: 'hold.expiring',
    summary: `${created.summary.replace(/\.$/, '')}; it times out (${rule.onTimeout}) in ${when}`,
    detail: { ...created.detail, timeoutAt, onTimeout: rule.onTimeout },
  };
}

export function createHoldExpiry(deps: {
  readonly policy: () => Policy;
  readonly stillHeld: (msgId: string) => boolean;
  readonly clock: () => number;
  readonly raise: (alarm: AlarmInput) => void;
  readonly timers?: Timers;
}): HoldExpiry {
  // Per hold still to be warned of: its timer, and its hold.created alarm.
  const armed = new Map<string, { timer: unknown; created: AlarmInput }>();
  // Holds warned of already, so a reload does not warn of them again (bounded: oldest forgotten).
  const warned = new Set<string>();
  const { setTimeout: set, clearTimeout: clear } = deps.timers ?? NODE_TIMERS;

  /** Waits until `at`, re-arming every MAX_TIMER_MS, then runs `fire`. */
  const wait = (created: AlarmInput & { msgId: string }, at: number, fire: () => void) => {
    const left = at - deps.clock();
    const timer = set(
      () => {
        if (at - deps.clock() > 0 && left > MAX_TIMER_MS) return wait(created, at, fire);
        armed.delete(created.msgId);
        warned.add(created.msgId);
        if (warned.size > MAX_WARNED) warned.delete(warned.values().next().value!);
        fire();
      },
      Math.min(MAX_TIMER_MS, Math.max(0, left)),
    );
    armed.set(created.msgId, { timer, created });
  };
  const drop = (msgId: string) => {
    const entry = armed.get(msgId);
    if (entry === undefined) return;
    clear(entry.timer);
    armed.delete(msgId);
  };
  const arm = (settings: AlertsPolicy | undefined, created: AlarmInput, now: number) => {
    if (created.msgId === undefined) return;
    drop(created.msgId);
    if (settings === undefined || !settings.routes.some((r) => r.on.includes('hold.expiring'))) return;
    const rule = deps.policy().approvals.find((a) => a.id === created.rule);
    if (rule === undefined) return; // a loop or freeze hold waits for a pilot, with no timeout
    const heldAt = typeof created.detail?.heldAt === 'number' ? created.detail.heldAt : now;
    const { warnAt, timeoutAt } = expiryTimes(settings.holdExpiringMs, rule.timeoutMs, heldAt);
    if (timeoutAt <= now) return; // timed out already (a reload shortened it): the timeout says so
    const msgId = created.msgId;
    wait({ ...created, msgId }, warnAt, () => {
      if (deps.stillHeld(msgId)) deps.raise(expiringAlarm(created, rule, timeoutAt, deps.clock()));
    });
  };

  return {
    arm,
    retime(settings, holds, now) {
      for (const { timer } of armed.values()) clear(timer);
      armed.clear();
      for (const created of holds)
        if (created.msgId !== undefined && !warned.has(created.msgId)) arm(settings, created, now);
    },
    released(msgId) {
      drop(msgId);
      warned.delete(msgId);
    },
    armed: () => armed.size,
    close() {
      for (const { timer } of armed.values()) clear(timer);
      armed.clear();
    },
  };
}
