/**
 * A bounded sketch of one output field's values (docs/drift.md): what drift compares between an
 * agent's versions. Pure math, no clock. Numbers fall into fixed signed log-scale buckets, so no
 * baseline is needed to bin them and two sketches of any origin compare bucket for bucket; strings
 * and booleans are counted per category up to a cap; every value counts toward its JSON type (with
 * `absent` for a field the payload lacks), which is the field's structure.
 */

/** The JSON types a field may have, and `absent` when the payload does not have it. */
export const DRIFT_TYPES = ['absent', 'null', 'boolean', 'number', 'string', 'array', 'object'] as const;
export type DriftType = (typeof DRIFT_TYPES)[number];

/**
 * One value as a sample carries it: a number, a string, a boolean or null as is; an object, an
 * array or a missing field by its type only (their contents are not compared).
 */
export type DriftValue = number | string | boolean | null | { readonly t: 'absent' | 'array' | 'object' };

/**
 * Buckets per decade of |v| (each 10^(1/128) − 1 ≈ 1.8 % wide), and the range covered: 1e-9 to
 * 1e18, 27 decades. Sparse: a sketch stores only the buckets that hold values, so data spanning
 * d decades keeps at most 128·d buckets per sign whatever the count.
 */
export const BUCKETS_PER_DECADE = 128;
const MIN_ABS = 1e-9;
export const TOP_BUCKET = 27 * BUCKETS_PER_DECADE;
/** The top of the range: sums and squares count a number beyond it as ±MAX_ABS. */
const MAX_ABS = 1e18;
/** Distinct categories counted before the rest go to `other`. */
export const CATEGORY_CAP = 32;
/** A category is compared on its first 64 characters. */
const CATEGORY_CHARS = 64;

/**
 * The sketch of one field. Bounded: at most 2·TOP_BUCKET + 1 buckets (6,913; in practice 128 per
 * decade the values span) and CATEGORY_CAP categories, whatever the number of values.
 */
export type FieldSketch = {
  /** Values seen (present or not). */
  n: number;
  /** Count per JSON type, in DRIFT_TYPES order. */
  readonly types: number[];
  /** Numbers: their count, sum, sum of squares, least and greatest, and count per bucket (see bucketOf). */
  num: number;
  sum: number;
  sq: number;
  min: number;
  max: number;
  readonly buckets: Map<number, number>;
  /** Strings and booleans (as `true`/`false`): count per category, and the rest past the cap. */
  readonly cats: Map<string, number>;
  other: number;
};

export function newFieldSketch(): FieldSketch {
  return {
    n: 0,
    types: [0, 0, 0, 0, 0, 0, 0],
    num: 0,
    sum: 0,
    sq: 0,
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
    buckets: new Map(),
    cats: new Map(),
    other: 0,
  };
}

/**
 * The bucket of a number: 0 for |v| below 1e-9, else ±k with k = 1 + floor(128·log10(|v|/1e-9)),
 * capped at TOP_BUCKET (1e18 and above). Bucket order is value order.
 */
export function bucketOf(v: number): number {
  const a = Math.abs(v);
  if (!(a >= MIN_ABS)) return 0;
  const k = Math.min(TOP_BUCKET, 1 + Math.floor(BUCKETS_PER_DECADE * Math.log10(a / MIN_ABS)));
  return v < 0 ? -k : k;
}

/** The values a bucket covers, [low, high) in value order (the top buckets are closed at ±1e18). */
export function bucketEdges(b: number): readonly [number, number] {
  if (b === 0) return [-MIN_ABS, MIN_ABS];
  const k = Math.abs(b);
  const lo = MIN_ABS * 10 ** ((k - 1) / BUCKETS_PER_DECADE);
  const hi = MIN_ABS * 10 ** (k / BUCKETS_PER_DECADE);
  return b > 0 ? [lo, hi] : [-hi, -lo];
}

function typeOf(v: DriftValue): DriftType {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'number':
      return 'number';
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    default:
      return v.t;
  }
}

/** Adds one value to the sketch, in place (the store owns its sketches; the gate only reads them). */
export function addValue(s: FieldSketch, v: DriftValue): void {
  s.n++;
  s.types[DRIFT_TYPES.indexOf(typeOf(v))]!++;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return;
    s.num++;
    // Clamped to the buckets' range, so sums stay finite whatever the count (mean and σ then
    // read a value beyond ±1e18 as ±1e18, as its bucket does).
    const c = Math.min(Math.max(v, -MAX_ABS), MAX_ABS);
    s.sum += c;
    s.sq += c * c;
    if (v < s.min) s.min = v;
    if (v > s.max) s.max = v;
    const b = bucketOf(v);
    s.buckets.set(b, (s.buckets.get(b) ?? 0) + 1);
  } else if (typeof v === 'string' || typeof v === 'boolean') {
    addCategory(s, typeof v === 'string' ? cut(v) : String(v), 1);
  }
}

/**
 * A string as a category: its first CATEGORY_CHARS UTF-16 units, one fewer when the cut would split
 * a surrogate pair (a lone surrogate has no JSON form in the ledger).
 */
function cut(v: string): string {
  if (v.length <= CATEGORY_CHARS) return v;
  const c = v.charCodeAt(CATEGORY_CHARS - 1);
  return v.slice(0, c >= 0xd800 && c <= 0xdbff ? CATEGORY_CHARS - 1 : CATEGORY_CHARS);
}

function addCategory(s: FieldSketch, cat: string, count: number): void {
  const had = s.cats.get(cat);
  if (had !== undefined) s.cats.set(cat, had + count);
  else if (s.cats.size < CATEGORY_CAP) s.cats.set(cat, count);
  else s.other += count;
}

/** Adds `from` into `into`, in place: counts add, so merging is order-free except at the category cap. */
export function mergeInto(into: FieldSketch, from: FieldSketch): void {
  into.n += from.n;
  for (let i = 0; i < into.types.length; i++) into.types[i]! += from.types[i]!;
  into.num += from.num;
  into.sum += from.sum;
  into.sq += from.sq;
  if (from.min < into.min) into.min = from.min;
  if (from.max > into.max) into.max = from.max;
  for (const [b, c] of from.buckets) into.buckets.set(b, (into.buckets.get(b) ?? 0) + c);
  for (const [cat, c] of [...from.cats].sort(byKey)) addCategory(into, cat, c);
  into.other += from.other;
}

function byKey(a: readonly [string, number], b: readonly [string, number]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

export function mean(s: FieldSketch): number | undefined {
  return s.num === 0 ? undefined : s.sum / s.num;
}

/**
 * The q-quantile (0..1) of the numbers, interpolated within its bucket and clamped to the least
 * and greatest value seen; undefined with none.
 */
export function quantile(s: FieldSketch, q: number): number | undefined {
  if (s.num === 0) return undefined;
  const target = Math.min(Math.max(q, 0), 1) * s.num;
  let cum = 0;
  const keys = [...s.buckets.keys()].sort((a, b) => a - b);
  for (const b of keys) {
    const c = s.buckets.get(b)!;
    if (cum + c >= target) {
      if (b === 0) return clamp(0, s.min, s.max); // |v| below 1e-9: read as 0
      const [lo, hi] = bucketEdges(b);
      return clamp(lo + ((hi - lo) * (target - cum)) / c, s.min, s.max);
    }
    cum += c;
  }
  return s.max;
}

/** What JSON can carry: a non-finite sum (which addValue never makes) is written 0, not null. */
const finite = (v: number) => (Number.isFinite(v) ? v : 0);

const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

/** The standard deviation of the numbers (population); undefined with none. */
export function stddev(s: FieldSketch): number | undefined {
  if (s.num === 0) return undefined;
  const m = s.sum / s.num;
  return Math.sqrt(Math.max(0, s.sq / s.num - m * m));
}

/** A field sketch as JSON (snapshots, the API): buckets and categories as sorted pairs. */
export type FieldSketchJson = {
  readonly n: number;
  readonly types: readonly number[];
  readonly num: number;
  readonly sum: number;
  /** Absent in state written before: read as the sum of squares of nothing known (0). */
  readonly sq?: number;
  /** null with no numbers (JSON has no infinities). */
  readonly min?: number | null;
  readonly max?: number | null;
  readonly buckets: readonly (readonly [number, number])[];
  readonly cats: readonly (readonly [string, number])[];
  readonly other: number;
};

export function sketchToJson(s: FieldSketch): FieldSketchJson {
  return {
    n: s.n,
    types: [...s.types],
    num: s.num,
    sum: finite(s.sum),
    sq: finite(s.sq),
    min: s.num === 0 ? null : s.min,
    max: s.num === 0 ? null : s.max,
    buckets: [...s.buckets].sort((a, b) => a[0] - b[0]),
    cats: [...s.cats].sort(byKey),
    other: s.other,
  };
}

export function sketchFromJson(j: FieldSketchJson): FieldSketch {
  return {
    n: j.n,
    types: [...j.types],
    num: j.num,
    sum: j.sum,
    sq: j.sq ?? 0,
    min: j.min === null ? Number.POSITIVE_INFINITY : (j.min ?? Number.NEGATIVE_INFINITY),
    max: j.max === null ? Number.NEGATIVE_INFINITY : (j.max ?? Number.POSITIVE_INFINITY),
    buckets: new Map(j.buckets.map(([b, c]) => [b, c])),
    cats: new Map(j.cats.map(([k, c]) => [k, c])),
    other: j.other,
  };
}

/**
 * The value at a JSON pointer's tokens in a payload, as a sample carries it: a string cut to what a
 * category compares (64 characters), so a sample stays a few dozen bytes whatever the payload.
 */
export function driftValueAt(data: unknown, path: readonly string[]): DriftValue {
  let at: unknown = data;
  for (const token of path) {
    if (at === null || typeof at !== 'object') return { t: 'absent' };
    if (Array.isArray(at)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return { t: 'absent' };
      at = at[Number(token)];
    } else {
      if (!Object.hasOwn(at, token)) return { t: 'absent' };
      at = (at as Record<string, unknown>)[token];
    }
  }
  if (at === undefined) return { t: 'absent' };
  if (typeof at === 'string') return cut(at);
  if (at === null || typeof at === 'number' || typeof at === 'boolean') return at;
  return { t: Array.isArray(at) ? 'array' : 'object' };
}
