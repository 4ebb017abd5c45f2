import type { BreakerState, StateDelta, StateView } from './types.js';

/** The mutable side of state, owned by the runtime (the shell); the gate only sees `StateView`. */
export type StateStore = StateView & {
  /** Applies deltas in order. Idempotent per delta: deltas carry absolute values. */
  apply(deltas: readonly StateDelta[]): void;
  /**
   * Drops state that is back to neutral at `now` (full buckets, empty windows, expired echoes and
   * seen ids) and breakers a day past their cooldown (the gate closes one sooner, with the delta that
   * alerts, when a message for it comes); open holds stay. Returns how many keys were dropped.
   */
  evict(now: number): number;
  /**
   * `evict` in steps: pauses after about `every` keys looked at, for a caller that spreads a pass
   * over turns of the event loop (a million entities take a tenth of a second or more). What changes
   * between steps is read as it is when its key is reached. Returns what `evict` returns.
   */
  evictInSteps(now: number, every: number): Generator<void, number, undefined>;
  /** Open breakers, in key order. */
  openBreakers(): readonly { readonly key: string; readonly state: BreakerState }[];
  /** Number of live keys (for memory accounting). */
  size(): number;
  /**
   * Everything the store holds, as the deltas that rebuild it: `apply(contents())` on an empty store
   * gives the same store (holds and echo marks in their order). What a partition snapshot keeps.
   */
  contents(): StateDelta[];
};
