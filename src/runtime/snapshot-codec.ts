import type { Envelope, GatedKind } from '../envelope/index.js';
import type { SnapshotHead } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import { type StateDelta, type StateStore, WINDOW_SLOTS } from '../state/index.js';
import {
  createPartitionFold,
  type PartitionFold,
  type PendingWork,
  type RememberedFailure,
} from './recovery-fold.js';

// A partition fold (recovery-fold.ts) as the text of a snapshot, and back. The ledger stores the
// text beside the chain without reading it; here it is read as untrusted input: anything that does
// not decode is a reason to fold the chain without it, never an exception.

/** The body's format: a snapshot of another format is ignored (and rewritten by the next snapshot). */
export const SNAPSHOT_FORMAT = 'meshwarden.partition-fold.v1';

/**
 * How long the state keeps echo marks and seen ids (the policy's `guards.loop.echoWindowMs` and
 * `guards.envelope.dedupeWindowMs`): a snapshot drops older ones, so it serves a state that keeps
 * them no longer than it did.
 */
export type StateWindows = { readonly echoWindowMs: number; readonly dedupeWindowMs: number };

const DAY_MS = 86_400_000;
/** The memory store's own defaults (state/memory.ts). */
export const DEFAULT_WINDOWS: StateWindows = { echoWindowMs: DAY_MS, dedupeWindowMs: DAY_MS };

export function stateWindows(policy: Pick<Policy, 'guards'>): StateWindows {
  return {
    echoWindowMs: policy.guards.loop.echoWindowMs,
    dedupeWindowMs: policy.guards.envelope.dedupeWindowMs,
  };
}

type Body = {
  partition: number;
  seq: number;
  hash: string;
  at: number;
  windows: StateWindows;
  state: StateDelta[];
  failures: [string, [string, number][]][];
  pending: [string, GatedKind, string[], Envelope][];
};

/** The fold as snapshot text. */
export function encodeFold(fold: PartitionFold, windows: StateWindows): string {
  const body: Body = {
    partition: fold.partition,
    seq: fold.last.seq,
    hash: fold.last.hash,
    at: fold.last.at,
    windows,
    state: fold.state.contents(),
    failures: [...fold.failures].map(([key, list]) => [key, list.map((f) => [f.msgId, f.at])]),
    pending: [...fold.pending].map(([id, p]) => [id, p.gated, [...p.waiting], p.envelope]),
  };
  return JSON.stringify(body);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/**
 * Decodes snapshot text into a fold over `state`, which must be empty (a fresh store kept for
 * `windows`, or the partition's own, so nothing is copied). Returns why it cannot be used instead,
 * `state` then untouched: text that does not parse or has not the shape, a head it does not match,
 * or windows shorter than `windows` (it dropped marks or ids the state must keep).
 */
export function decodeFold(
  text: string,
  head: SnapshotHead,
  windows: StateWindows,
  state: StateStore,
): PartitionFold | string {
  let body: Partial<Body>;
  try {
    body = JSON.parse(text) as Partial<Body>;
  } catch {
    return 'its body is not JSON';
  }
  if (!isObject(body)) return 'its body is not a JSON object';
  if (body.partition !== head.partition || body.seq !== head.seq || body.hash !== head.hash)
    return 'its body names another partition, entry or hash than it is stored under';
  const w = body.windows;
  if (!isObject(w) || typeof w.echoWindowMs !== 'number' || typeof w.dedupeWindowMs !== 'number')
    return 'its body has no windows';
  if (w.echoWindowMs < windows.echoWindowMs || w.dedupeWindowMs < windows.dedupeWindowMs)
    return 'it kept echo marks or seen ids for a shorter time than the policy now asks';
  if (typeof body.at !== 'number' || !Array.isArray(body.state) || !Array.isArray(body.failures))
    return 'its body is not a partition fold';
  if (!Array.isArray(body.pending)) return 'its body is not a partition fold';
  // Everything is checked before anything is applied: a body that fails leaves `state` as it was.
  if (!body.state.every(isSnapshotDelta)) return 'its state is not deltas';
  const failures = decodeFailures(body.failures);
  if (failures === undefined) return 'its failure memory is malformed';
  const pending = decodePending(body.pending);
  if (pending === undefined) return 'its pending work is malformed';
  const fold = createPartitionFold(head.partition, state);
  state.apply(body.state);
  for (const [key, list] of failures) fold.failures.set(key, list);
  for (const [id, work] of pending) fold.pending.set(id, work);
  fold.last.seq = head.seq;
  fold.last.hash = head.hash;
  fold.last.at = body.at;
  return fold;
}

function decodePending(raw: unknown[]): [string, PendingWork][] | undefined {
  const out: [string, PendingWork][] = [];
  for (const p of raw) {
    if (!Array.isArray(p) || typeof p[0] !== 'string' || (p[1] !== 'message' && p[1] !== 'effect'))
      return undefined;
    if (!isStrings(p[2]) || !isObject(p[3]) || typeof (p[3] as Partial<Envelope>).type !== 'string')
      return undefined;
    out.push([p[0], { envelope: p[3] as Envelope, gated: p[1], waiting: new Set(p[2]) }]);
  }
  return out;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Whether a value is a delta a store may apply: the kinds contents() gives, their fields typed. */
function isSnapshotDelta(d: unknown): d is StateDelta {
  if (!isObject(d)) return false;
  switch (d.kind) {
    case 'bucket':
      return typeof d.key === 'string' && isObject(d.state) && isNumber(d.state.tat);
    case 'window': {
      const w = d.state;
      if (typeof d.key !== 'string' || !isObject(w) || !isNumber(w.slotMs) || !isNumber(w.start))
        return false;
      return Array.isArray(w.slots) && w.slots.length <= WINDOW_SLOTS && w.slots.every(isNumber);
    }
    case 'breaker-open':
      return typeof d.key === 'string' && isObject(d.state) && isNumber(d.state.openedAt);
    case 'echo':
      return typeof d.subject === 'string' && isObject(d.mark) && isNumber(d.mark.at);
    case 'seen':
      return typeof d.id === 'string' && isNumber(d.at);
    case 'hold-open':
      return isObject(d.hold) && typeof d.hold.msgId === 'string' && isObject(d.hold.envelope);
    case 'drift-state':
      return typeof d.monitor === 'string' && isDriftState(d.state);
    default:
      return false;
  }
}

/** A drift monitor's state as driftStateToJson writes it, checked deep enough to read back. */
function isDriftState(s: unknown): boolean {
  if (!isObject(s) || !Array.isArray(s.versions) || !isStrings(s.alarmed)) return false;
  if (s.digest !== undefined && typeof s.digest !== 'string') return false;
  const isSketch = (f: unknown) =>
    isObject(f) &&
    isNumber(f.n) &&
    Array.isArray(f.types) &&
    isNumber(f.num) &&
    isNumber(f.sum) &&
    (f.sq === undefined || isNumber(f.sq)) &&
    Array.isArray(f.buckets) &&
    Array.isArray(f.cats) &&
    isNumber(f.other);
  const isRing = (r: unknown) =>
    isObject(r) &&
    isNumber(r.sliceMs) &&
    Array.isArray(r.slices) &&
    r.slices.every(
      (x) => isObject(x) && isNumber(x.index) && Array.isArray(x.fields) && x.fields.every(isSketch),
    );
  if (s.trailing !== undefined && !isRing(s.trailing)) return false;
  return s.versions.every(
    (v) =>
      isObject(v) &&
      typeof v.version === 'string' &&
      isNumber(v.firstAt) &&
      Array.isArray(v.total) &&
      v.total.every(isSketch) &&
      isRing(v.ring),
  );
}

function decodeFailures(raw: unknown[]): Map<string, RememberedFailure[]> | undefined {
  const out = new Map<string, RememberedFailure[]>();
  for (const item of raw) {
    if (!Array.isArray(item) || typeof item[0] !== 'string' || !Array.isArray(item[1])) return undefined;
    const list: RememberedFailure[] = [];
    for (const f of item[1] as unknown[]) {
      if (!Array.isArray(f) || typeof f[0] !== 'string' || typeof f[1] !== 'number') return undefined;
      list.push({ msgId: f[0], at: f[1] });
    }
    out.set(item[0], list);
  }
  return out;
}
