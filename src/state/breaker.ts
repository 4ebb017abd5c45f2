import { breakerCountKey, breakerKey } from './keys.js';
import type { BreakerAction, BreakerState, StateDelta, StateView } from './types.js';
import { windowAdd, windowSum } from './window.js';

/** True when the breaker is open at `now`: an open breaker whose cooldown has passed counts as closed. */
export function breakerOpenAt(state: BreakerState | undefined, now: number): boolean {
  return state !== undefined && (state.closesAt === undefined || state.closesAt > now);
}

/** What the math needs of a breaker rule (the policy's `BreakerRule` has these fields). */
export type BreakerTrigger = {
  readonly id: string;
  readonly over: number;
  readonly windowMs: number;
  readonly action: BreakerAction;
  readonly cooldownMs?: number;
};

/** The state of a breaker that `trigger` opens at `now`: closing by itself after its cooldown, if any. */
export function openedBreaker(trigger: BreakerTrigger, now: number): BreakerState {
  return trigger.cooldownMs === undefined
    ? { state: 'open', action: trigger.action, openedAt: now, by: trigger.id }
    : {
        state: 'open',
        action: trigger.action,
        openedAt: now,
        closesAt: now + trigger.cooldownMs,
        by: trigger.id,
      };
}

/** One event counted toward a breaker: the deltas to apply, the count in the window, whether it opened. */
export type BreakerCount = {
  readonly count: number;
  readonly opened: boolean;
  readonly deltas: readonly StateDelta[];
};

/**
 * Counts one event (a failed try, a dead letter) toward the breaker `trigger` for `scopeKey` at `now`:
 * the count window gains one, and when the count goes over `over` a breaker that is not open at `now`
 * opens (a breaker-open delta). One already open keeps its opening time; the event is counted all the
 * same, so the window stays true. Pure: the caller applies the deltas and records them.
 */
export function countTowardBreaker(
  state: StateView,
  trigger: BreakerTrigger,
  scopeKey: string,
  now: number,
): BreakerCount {
  const countKey = breakerCountKey(trigger.id, scopeKey);
  const window = state.window(countKey);
  const count = windowSum(window, now) + 1;
  const counted: StateDelta = {
    kind: 'window',
    key: countKey,
    state: windowAdd(window, now, trigger.windowMs, 1),
  };
  const key = breakerKey(trigger.id, scopeKey);
  const held = state.breaker(key);
  if (count <= trigger.over || breakerOpenAt(held, now)) {
    return { count, opened: false, deltas: [counted] };
  }
  const open: StateDelta = { kind: 'breaker-open', key, state: openedBreaker(trigger, now) };
  // One past its cooldown, that no message closed yet, is closed first: on-call hears it close
  // (breaker.closed), then open again, not a second opening of an incident it thinks still open.
  const closed: StateDelta[] = held === undefined ? [] : [{ kind: 'breaker-close', key }];
  return { count, opened: true, deltas: [counted, ...closed, open] };
}
