import type { BreakerState } from './types.js';

/** True when the breaker is open at `now`: an open breaker whose cooldown has passed counts as closed. */
export function breakerOpenAt(state: BreakerState | undefined, now: number): boolean {
  return state !== undefined && (state.closesAt === undefined || state.closesAt > now);
}
