import { compareField, type FieldScore } from './drift-score.js';
import {
  addValue,
  type DriftValue,
  type FieldSketch,
  type FieldSketchJson,
  mergeInto,
  newFieldSketch,
  sketchFromJson,
  sketchToJson,
} from './drift-sketch.js';

/**
 * A drift monitor's state (docs/drift.md): per agent version, an all-time sketch of each monitored
 * field and a ring of time slices for the current window; for a trailing-window baseline, one more
 * ring. Bounded: DRIFT_VERSIONS versions, RING_SLICES slices, each sketch bounded (drift-sketch.ts).
 * The store owns it and changes it in place from `drift-sample` deltas; the gate only reads it.
 */

/** Slices of the current window: a sample counts for between 5/6 of a window and a whole one. */
export const RING_SLICES = 6;
/** Slices of a trailing baseline window. */
export const TRAILING_SLICES = 8;
/** Versions kept per monitor (the oldest one not pinned as a baseline is dropped). */
export const DRIFT_VERSIONS = 4;
/** The gate evaluates a monitor on every 10th value of a version: an evaluation costs tens of µs. */
export const DRIFT_EVAL_EVERY = 10;

type Slice = { readonly index: number; readonly fields: FieldSketch[] };
export type Ring = { readonly sliceMs: number; readonly slices: Slice[] };

export type VersionSketch = {
  readonly version: string;
  readonly firstAt: number;
  readonly total: FieldSketch[];
  ring: Ring;
};

export type DriftState = {
  /**
   * The digest of the monitor's agent, type and fields its sketches were built for (driftDigest):
   * a sample of another digest (the monitor was changed by a reload) starts the state again, and
   * readers ignore a state whose digest is not their monitor's. Undefined in state written before
   * the sketches' current bucket scale: such state is ignored and dropped the same way.
   */
  digest?: string;
  readonly versions: VersionSketch[];
  trailing?: Ring;
  /** Versions whose alarm is raised: once per version, until a pilot's reset (driftReset). */
  readonly alarmed: Set<string>;
};

/** How the monitor's baseline is chosen: the previous version, a named one, or a trailing window. */
export type DriftBaseline =
  | { readonly kind: 'previous' }
  | { readonly kind: 'version'; readonly version: string }
  | { readonly kind: 'window'; readonly windowMs: number };

/** What the math needs of a monitor (the policy's DriftMonitor has these fields). */
export type DriftSpec = {
  readonly id: string;
  readonly agent?: string;
  readonly type?: string;
  readonly fields: readonly string[];
  readonly windowMs: number;
  readonly baseline: DriftBaseline;
  readonly threshold: number;
  readonly minSamples: number;
};

/** One admitted emission's values, as a `drift-sample` delta carries it. */
export type DriftSample = {
  readonly monitor: string;
  /** The monitor's driftDigest: what its values are (absent in entries written before). */
  readonly digest?: string;
  readonly version: string;
  readonly at: number;
  readonly windowMs: number;
  /** The trailing baseline window, when the monitor has one. */
  readonly trailingMs?: number;
  /** A version pinned as baseline: never dropped. */
  readonly keep?: string;
  readonly values: readonly DriftValue[];
};

export function newDriftState(): DriftState {
  return { versions: [], alarmed: new Set() };
}

/** The sketches' format (bucket scale): part of every digest. */
const SKETCH_FORMAT = 'sketch-2';

const digests = new WeakMap<DriftSpec, string>();

/**
 * What a monitor's values are: a short FNV-1a digest of its agent, type and fields, in order. A
 * reload that changes any of them changes the digest, so old sketches are never compared with the
 * new fields (their positions would line up values of other fields). Memoized per monitor object.
 */
export function driftDigest(spec: DriftSpec): string {
  const known = digests.get(spec);
  if (known !== undefined) return known;
  // SKETCH_FORMAT first: state of another bucket scale never compares with this one.
  const text = [SKETCH_FORMAT, spec.agent ?? '', spec.type ?? '', ...spec.fields].join('\u0000');
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const digest = h.toString(16).padStart(8, '0');
  digests.set(spec, digest);
  return digest;
}

/** The state if it was built for this monitor's agent, type and fields; else undefined (ignored). */
export function driftStateFor(state: DriftState | undefined, spec: DriftSpec): DriftState | undefined {
  return state?.digest === driftDigest(spec) ? state : undefined;
}

function newRing(sliceMs: number): Ring {
  return { sliceMs: Math.max(1, Math.ceil(sliceMs)), slices: [] };
}

function ringAdd(ring: Ring, at: number, capacity: number, values: readonly DriftValue[]): void {
  const index = Math.floor(at / ring.sliceMs);
  const newest = ring.slices.at(-1)?.index ?? index;
  if (index <= newest - capacity) return; // older than the ring remembers
  let slice = ring.slices.find((s) => s.index === index);
  if (slice === undefined) {
    slice = { index, fields: values.map(() => newFieldSketch()) };
    ring.slices.push(slice);
    ring.slices.sort((a, b) => a.index - b.index);
    const top = ring.slices.at(-1)!.index;
    while (ring.slices[0]!.index <= top - capacity) ring.slices.shift();
  }
  values.forEach((v, i) => {
    if (slice.fields[i] !== undefined) addValue(slice.fields[i]!, v);
  });
}

function ringSum(ring: Ring | undefined, fields: number, from: number, to: number): FieldSketch[] {
  const out = Array.from({ length: fields }, () => newFieldSketch());
  if (ring === undefined) return out;
  for (const s of ring.slices) {
    const start = s.index * ring.sliceMs;
    if (start < from || start >= to) continue;
    s.fields.forEach((f, i) => {
      if (out[i] !== undefined) mergeInto(out[i]!, f);
    });
  }
  return out;
}

/** Adds a sample to the state, in place. */
export function driftAdd(state: DriftState, sample: DriftSample): void {
  if (sample.digest !== state.digest) {
    // The monitor now watches other values: what it knew is of no use to it (docs/drift.md).
    state.versions.length = 0;
    state.trailing = undefined;
    state.alarmed.clear();
    state.digest = sample.digest;
  }
  let v = state.versions.find((x) => x.version === sample.version);
  if (v === undefined) {
    v = {
      version: sample.version,
      firstAt: sample.at,
      total: sample.values.map(() => newFieldSketch()),
      ring: newRing(sample.windowMs / RING_SLICES),
    };
    state.versions.push(v);
    while (state.versions.length > DRIFT_VERSIONS) {
      const drop = state.versions.findIndex((x) => x.version !== sample.keep && x !== v);
      state.alarmed.delete(state.versions[drop]!.version);
      state.versions.splice(drop, 1);
    }
  }
  // A reload that changed the window starts the ring again.
  if (v.ring.sliceMs !== newRing(sample.windowMs / RING_SLICES).sliceMs)
    v.ring = newRing(sample.windowMs / RING_SLICES);
  sample.values.forEach((val, i) => {
    while (v.total.length <= i) v.total.push(newFieldSketch());
    addValue(v.total[i]!, val);
  });
  ringAdd(v.ring, sample.at, RING_SLICES, sample.values);
  if (sample.trailingMs !== undefined) {
    const sliceMs = newRing(sample.trailingMs / TRAILING_SLICES).sliceMs;
    if (state.trailing?.sliceMs !== sliceMs) state.trailing = newRing(sliceMs);
    const capacity = TRAILING_SLICES + Math.ceil(sample.windowMs / sliceMs) + 1;
    ringAdd(state.trailing, sample.at, capacity, sample.values);
  }
}

/**
 * A pilot reset the monitor's breaker: its alarms are cleared and every version's current window
 * emptied, so it alarms again only if the drift shows in new values (baselines are kept).
 */
export function driftReset(state: DriftState): void {
  state.alarmed.clear();
  for (const v of state.versions) v.ring = newRing(v.ring.sliceMs);
}

/** The current window of a version at `now`. */
export function currentOf(state: DriftState, spec: DriftSpec, version: string, now: number): FieldSketch[] {
  const v = state.versions.find((x) => x.version === version);
  const ring = v?.ring;
  const from = ring === undefined ? 0 : (Math.floor(now / ring.sliceMs) - RING_SLICES + 1) * ring.sliceMs;
  return ringSum(ring, spec.fields.length, from, Number.POSITIVE_INFINITY);
}

/** The baseline a version is compared with at `now`, and its name; undefined when there is none yet. */
export function baselineOf(
  state: DriftState,
  spec: DriftSpec,
  version: string,
  now: number,
): { readonly name: string; readonly fields: FieldSketch[] } | undefined {
  const b = spec.baseline;
  if (b.kind === 'window') {
    // Trailing slices that ended before the current window began.
    const end = now - spec.windowMs;
    const fields = ringSum(
      state.trailing,
      spec.fields.length,
      end - b.windowMs,
      end - (state.trailing?.sliceMs ?? 0) + 1,
    );
    return { name: `window:${b.windowMs}`, fields };
  }
  let base: VersionSketch | undefined;
  if (b.kind === 'version') base = state.versions.find((x) => x.version === b.version);
  else {
    const i = state.versions.findIndex((x) => x.version === version);
    base = i > 0 ? state.versions[i - 1] : undefined;
  }
  if (base === undefined || base.version === version) return undefined;
  return { name: base.version, fields: base.total };
}

/** A monitor's evaluation for a version: the worst field, and every field's score. */
export type DriftEvaluation = {
  readonly baseline: string;
  readonly field: string;
  readonly fieldScore: FieldScore;
  readonly fields: readonly (FieldScore & { readonly field: string })[];
  /** Both sides have at least minSamples values. */
  readonly enough: boolean;
  readonly over: boolean;
};

/** Values of a version seen so far (all time). */
export function versionCount(state: DriftState | undefined, version: string): number {
  return state?.versions.find((v) => v.version === version)?.total[0]?.n ?? 0;
}

/** Compares a version's current window with its baseline at `now` (quantiles only if asked). Pure. */
export function evaluateDrift(
  state: DriftState | undefined,
  spec: DriftSpec,
  version: string,
  now: number,
  quantiles = false,
): DriftEvaluation | undefined {
  if (state === undefined || driftStateFor(state, spec) === undefined) return undefined;
  const base = baselineOf(state, spec, version, now);
  if (base === undefined) return undefined;
  const cur = currentOf(state, spec, version, now);
  const fields = spec.fields.map((field, i) => ({
    field,
    ...compareField(base.fields[i]!, cur[i]!, quantiles),
  }));
  let worst = fields[0]!;
  for (const f of fields) if (f.score > worst.score) worst = f;
  const enough = worst.baselineCount >= spec.minSamples && worst.currentCount >= spec.minSamples;
  return {
    baseline: base.name,
    field: worst.field,
    fieldScore: worst,
    fields,
    enough,
    over: enough && worst.score >= spec.threshold,
  };
}

type RingJson = {
  readonly sliceMs: number;
  readonly slices: readonly { index: number; fields: FieldSketchJson[] }[];
};

/** The state as JSON, for snapshots; fromJson reads it back. */
export type DriftStateJson = {
  readonly digest?: string;
  readonly versions: readonly {
    version: string;
    firstAt: number;
    total: FieldSketchJson[];
    ring: RingJson;
  }[];
  readonly trailing?: RingJson;
  readonly alarmed: readonly string[];
};

const ringToJson = (r: Ring): RingJson => ({
  sliceMs: r.sliceMs,
  slices: r.slices.map((s) => ({ index: s.index, fields: s.fields.map(sketchToJson) })),
});
const ringFromJson = (r: RingJson): Ring => ({
  sliceMs: r.sliceMs,
  slices: r.slices.map((s) => ({ index: s.index, fields: s.fields.map(sketchFromJson) })),
});

export function driftStateToJson(s: DriftState): DriftStateJson {
  return {
    ...(s.digest === undefined ? {} : { digest: s.digest }),
    versions: s.versions.map((v) => ({
      version: v.version,
      firstAt: v.firstAt,
      total: v.total.map(sketchToJson),
      ring: ringToJson(v.ring),
    })),
    ...(s.trailing === undefined ? {} : { trailing: ringToJson(s.trailing) }),
    alarmed: [...s.alarmed].sort(),
  };
}

export function driftStateFromJson(j: DriftStateJson): DriftState {
  return {
    ...(j.digest === undefined ? {} : { digest: j.digest }),
    versions: j.versions.map((v) => ({
      version: v.version,
      firstAt: v.firstAt,
      total: v.total.map(sketchFromJson),
      ring: ringFromJson(v.ring),
    })),
    ...(j.trailing === undefined ? {} : { trailing: ringFromJson(j.trailing) }),
    alarmed: new Set(j.alarmed),
  };
}
