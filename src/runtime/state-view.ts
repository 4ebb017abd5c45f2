import {
  type BreakerState,
  breakerOpenAt,
  mergeDriftStates,
  type StateStore,
  type StateView,
} from '../state/index.js';
import type { Clock } from './envelopes.js';

/** What readers outside the partitions (the server's summaries, `run --json`) see of state. */
export type MeshStateView = StateView & {
  /** Open breakers, in key order; a key open in several partitions is listed once (opened first). */
  openBreakers(): readonly { readonly key: string; readonly state: BreakerState }[];
  /** Live keys over every partition (for memory accounting). */
  size(): number;
};

/**
 * A read-only view over every partition's state. Keys of one subject (entity scope, echoes, holds)
 * live in that subject's partition only; an agent-, edge- or mesh-scoped key may live in several,
 * each partition holding its own share, and a single-key read answers with the first partition that
 * has it. With one partition this is that partition's state itself, at no cost.
 */
export function viewOverPartitions(
  given: readonly StateStore[] | (() => readonly StateStore[]),
): MeshStateView {
  if (typeof given !== 'function' && given.length === 1) return given[0]!;
  // Distributed mode hands a function: a partition's state is replaced when it changes owner.
  const live = typeof given === 'function' ? given : () => given;
  const first = <T>(read: (s: StateStore) => T | undefined): T | undefined => {
    for (const s of live()) {
      const found = read(s);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return {
    bucket: (key) => first((s) => s.bucket(key)),
    window: (key) => first((s) => s.window(key)),
    breaker: (key) => first((s) => s.breaker(key)),
    echoes: (subject) => live().flatMap((s) => s.echoes(subject)),
    seen: (id) => first((s) => s.seen(id)),
    hold: (msgId) => first((s) => s.hold(msgId)),
    holds: () =>
      live()
        .flatMap((s) => s.holds())
        .sort((a, b) => a.heldAt - b.heldAt),
    // Each partition watches its share of an agent's traffic (docs/drift.md): merged, version by
    // version, over the partitions whose state is of the monitor's digest (any digest without one).
    drift: (monitor, digest) =>
      mergeDriftStates(
        live().flatMap((s) => {
          const d = s.drift(monitor);
          return d === undefined || (digest !== undefined && d.digest !== digest) ? [] : [d];
        }),
      ),
    openBreakers() {
      const byKey = new Map<string, BreakerState>();
      for (const s of live()) {
        for (const { key, state } of s.openBreakers()) {
          const known = byKey.get(key);
          if (known === undefined || state.openedAt < known.openedAt) byKey.set(key, state);
        }
      }
      return [...byKey.keys()].sort().map((key) => ({ key, state: byKey.get(key)! }));
    },
    size: () => live().reduce((n, s) => n + s.size(), 0),
  };
}

/**
 * The view with `openBreakers` as of `clock()`: the state keeps a breaker past its cooldown until
 * the gate closes it (the next message for its key, with the delta that alerts on-call), and what
 * reads the list (the API and console, `run`'s summary, the breakers-open gauge) shows it closed
 * from the moment its cooldown passed.
 */
export function openAtClock(view: MeshStateView, clock: Clock): MeshStateView {
  return { ...view, openBreakers: () => view.openBreakers().filter((b) => breakerOpenAt(b.state, clock())) };
}
