import {
  type DriftState,
  driftAdd,
  driftReset,
  driftStateFromJson,
  driftStateToJson,
  newDriftState,
} from './drift-monitor.js';
import { createPackedTable } from './packed.js';
import type { StateStore } from './store.js';
import type { BreakerState, EchoMark, HoldState, StateDelta } from './types.js';

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

/** How long a breaker past its cooldown is kept for the gate to close (see evictInSteps). */
const COOLED_BREAKER_KEPT_MS = DAY_MS;

/**
 * The embedded state store. Memory is the constraint (a target of ≤ 300 bytes per live entity at a
 * million entities): buckets and windows, the state nearly every entity has, are packed per scope
 * key (packed.ts); breakers, echo marks, seen ids and holds, which few entities have, are plain
 * Maps. Holds never expire here: only a `hold-release` delta ends one.
 */
export function createMemoryState(opts: MemoryStateOptions = {}): StateStore {
  const echoWindowMs = opts.echoWindowMs ?? DAY_MS;
  const dedupeWindowMs = opts.dedupeWindowMs ?? DAY_MS;
  const packed = createPackedTable();
  const breakers = new Map<string, BreakerState>();
  const echoes = new Map<string, EchoMark[]>();
  const seen = new Map<string, number>();
  const holds = new Map<string, HoldState>();
  /** Drift monitors' state, by monitor id: empty (and never read) without `drift:` in the policy. */
  const drift = new Map<string, DriftState>();
  const driftOf = (monitor: string): DriftState => {
    let s = drift.get(monitor);
    if (s === undefined) {
      s = newDriftState();
      drift.set(monitor, s);
    }
    return s;
  };

  function applyOne(d: StateDelta): void {
    switch (d.kind) {
      case 'bucket':
        packed.setBucket(d.key, d.state);
        return;
      case 'window':
        packed.setWindow(d.key, d.state);
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
      case 'reply-token': {
        const marks = echoes.get(d.subject);
        const i = marks?.findIndex((m) => m.effectId === d.effectId) ?? -1;
        if (marks !== undefined && i >= 0) marks[i] = { ...marks[i]!, replyToken: d.token };
        return;
      }
      case 'seen':
        seen.set(d.id, d.at);
        return;
      case 'hold-open':
        holds.set(d.hold.msgId, d.hold);
        return;
      case 'hold-release':
        holds.delete(d.msgId);
        return;
      case 'drift-sample':
        driftAdd(driftOf(d.sample.monitor), d.sample);
        return;
      case 'drift-alarm':
        driftOf(d.alarm.monitor).alarmed.add(d.alarm.current);
        return;
      case 'drift-clear':
        driftOf(d.monitor).alarmed.delete(d.version);
        return;
      case 'drift-reset': {
        const s = drift.get(d.monitor);
        if (s !== undefined) driftReset(s);
        return;
      }
      case 'drift-state':
        drift.set(d.monitor, driftStateFromJson(d.state));
        return;
    }
  }

  function* evictInSteps(now: number, every: number): Generator<void, number, undefined> {
    let dropped = yield* packed.evict(now, every);
    let visited = 0;
    // A breaker past its cooldown stays for a day: the gate closes it the next time a message for it
    // is gated, with a breaker-close delta, which is what tells on-call (`breaker.closed`; a restart
    // tells it too). Dropped at once, it closed without a word and its incident stayed open; kept for
    // good, the breakers of subjects never seen again would pile up.
    for (const [key, state] of breakers) {
      if (state.closesAt !== undefined && now - state.closesAt > COOLED_BREAKER_KEPT_MS)
        dropped += Number(breakers.delete(key));
      if (++visited % every === 0) yield;
    }
    for (const [subject, marks] of echoes) {
      const live = marks.filter((m) => now - m.at <= echoWindowMs);
      if (live.length === 0) dropped += Number(echoes.delete(subject));
      else if (live.length < marks.length) echoes.set(subject, live);
      if (++visited % every === 0) yield;
    }
    for (const [id, at] of seen) {
      if (now - at > dedupeWindowMs) dropped += Number(seen.delete(id));
      if (++visited % every === 0) yield;
    }
    return dropped;
  }

  function evict(now: number): number {
    return runToEnd(evictInSteps(now, Number.POSITIVE_INFINITY));
  }

  return {
    bucket: (key) => packed.bucket(key),
    window: (key) => packed.window(key),
    breaker: (key) => breakers.get(key),
    echoes: (subject) => echoes.get(subject) ?? NO_MARKS,
    seen: (id) => seen.get(id),
    hold: (msgId) => holds.get(msgId),
    holds: () => [...holds.values()],
    drift: (monitor) => drift.get(monitor),
    apply(deltas) {
      for (const d of deltas) applyOne(d);
    },
    evict,
    evictInSteps,
    openBreakers() {
      return [...breakers.keys()].sort().map((key) => ({ key, state: breakers.get(key)! }));
    },
    size: () => packed.size() + breakers.size + echoes.size + seen.size + holds.size + drift.size,
    contents() {
      const out: StateDelta[] = [...packed.records()];
      for (const [key, state] of breakers) out.push({ kind: 'breaker-open', key, state });
      for (const [subject, marks] of echoes)
        for (const mark of marks) out.push({ kind: 'echo', subject, mark });
      for (const [id, at] of seen) out.push({ kind: 'seen', id, at });
      for (const hold of holds.values()) out.push({ hold, kind: 'hold-open' });
      for (const [monitor, state] of drift)
        out.push({ kind: 'drift-state', monitor, state: driftStateToJson(state) });
      return out;
    },
  };
}

/** A generator's return value, once run through every step. */
function runToEnd<T>(steps: Generator<unknown, T, undefined>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}
