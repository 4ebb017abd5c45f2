import type { BucketState } from './types.js';

export type TakeResult =
  | { readonly ok: true; readonly state: BucketState }
  | { readonly ok: false; readonly retryAfterMs: number };

/**
 * GCRA (generic cell rate algorithm): a token bucket of `burst` tokens, one refilled every
 * `intervalMs`, kept as a single number, the theoretical arrival time (`tat`) of the next request.
 * A missing state is a full bucket.
 */
export function takeToken(
  state: BucketState | undefined,
  now: number,
  intervalMs: number,
  burst: number,
): TakeResult {
  const tat = state === undefined || state.tat < now ? now : state.tat;
  const next = tat + intervalMs;
  // The earliest time at which this request fits under the burst.
  const allowAt = next - burst * intervalMs;
  if (now < allowAt) return { ok: false, retryAfterMs: allowAt - now };
  return { ok: true, state: { tat: next } };
}

/** A bucket whose `tat` has passed is full again, the same as no state at all. */
export function bucketIsNeutral(state: BucketState | undefined, now: number): boolean {
  return state === undefined || state.tat <= now;
}
