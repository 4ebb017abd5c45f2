import { breakerOpenAt } from './breaker.js';
import { bucketIsNeutral } from './gcra.js';
import type { StateStore } from './store.js';
import type { BreakerState, EchoMark, StateDelta, WindowState } from './types.js';
import { windowIsNeutral } from './window.js';

/** Echo marks kept per subject, newest last: an entity rarely has more effects in flight. */
export const ECHO_MARKS_PER_SUBJECT = 16;

const DAY_MS = 86_400_000;
const NO_MARKS: readonly EchoMark[] = [];

export type MemoryStateOptions = {
  /** How long echo marks live (the policy's `guards.loop.echoWindowMs`); default 24h. */
  readonly echoWindowMs?: number;
  /** How long seen ids live (the policy's `guards.envelope.dedupeWindowMs`); default 24h. */
  readonly dedupeWindowMs?: number;
};

/**
 * The embedded state store: plain Maps. Values stay small for memory (a target of ≤ 300 bytes per
 * live entity at a million entities): buckets and seen ids are bare numbers, windows keep only their
 * live slots, and nothing holds a closure.
 */
export function createMemoryState(opts: MemoryStateOptions = {}): StateStore {
  const echoWindowMs = opts.echoWindowMs ?? DAY_MS;
  const dedupeWindowMs = opts.dedupeWindowMs ?? DAY_MS;
  const buckets = new Map<string, number>();
  const windows = new Map<string, WindowState>();
  const breakers = new Map<string, BreakerState>();
  const echoes = new Map<string, EchoMark[]>();
  const seen = new Map<string, number>();

  function applyOne(d: StateDelta): void {
    switch (d.kind) {
      case 'bucket':
        buckets.set(d.key, d.state.tat);
        return;
      case 'window':
        windows.set(d.key, d.state);
        return;
      case 'breaker-open':
        breakers.set(d.key, d.state);
        return;
      case 'breaker-close':
        breakers.delete(d.key);
        return;
      case 'echo': {
        const marks = echoes.get(d.subject);
        if (marks === undefined) echoes.set(d.subject, [d.mark]);
        else {
          marks.push(d.mark);
          if (marks.length > ECHO_MARKS_PER_SUBJECT) marks.shift();
        }
        return;
      }
      case 'seen':
        seen.set(d.id, d.at);
        return;
    }
  }

  function evict(now: number): number {
    let dropped = 0;
    for (const [key, tat] of buckets) {
      if (bucketIsNeutral({ tat }, now)) dropped += Number(buckets.delete(key));
    }
    for (const [key, state] of windows) {
      if (windowIsNeutral(state, now)) dropped += Number(windows.delete(key));
    }
    for (const [key, state] of breakers) {
      if (!breakerOpenAt(state, now)) dropped += Number(breakers.delete(key));
    }
    for (const [subject, marks] of echoes) {
      const live = marks.filter((m) => now - m.at <= echoWindowMs);
      if (live.length === 0) dropped += Number(echoes.delete(subject));
      else if (live.length < marks.length) echoes.set(subject, live);
    }
    for (const [id, at] of seen) {
      if (now - at > dedupeWindowMs) dropped += Number(seen.delete(id));
    }
    return dropped;
  }

  return {
    bucket: (key) => {
      const tat = buckets.get(key);
      return tat === undefined ? undefined : { tat };
    },
    window: (key) => windows.get(key),
    breaker: (key) => breakers.get(key),
    echoes: (subject) => echoes.get(subject) ?? NO_MARKS,
    seen: (id) => seen.get(id),
    apply(deltas) {
      for (const d of deltas) applyOne(d);
    },
    evict,
    openBreakers() {
      return [...breakers.keys()].sort().map((key) => ({ key, state: breakers.get(key)! }));
    },
    size: () => buckets.size + windows.size + breakers.size + echoes.size + seen.size,
  };
}
