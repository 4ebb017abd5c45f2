import { CATEGORY_CAP, DRIFT_TYPES, type FieldSketch, mean, quantile, stddev } from './drift-sketch.js';

/**
 * Drift scores between a baseline and a current sketch of one field (docs/drift.md, "Formulas").
 * Every score is a population stability index over a few bins:
 *
 *   PSI = Σᵢ (cᵢ − bᵢ) · ln(cᵢ / bᵢ),   bᵢ = max(Bᵢ / N_b, ε), cᵢ = max(Cᵢ / N_c, ε), ε = 1e-4
 *
 * minus what two samples of one unchanged distribution score on average, (k − 1)(1/N_b + 1/N_c)
 * for k bins (PSI ≈ χ²·(1/N_b + 1/N_c), and χ² averages k − 1), floored at 0: so a few samples do
 * not look like drift. Identical distributions score exactly 0. Numbers also score their mean
 * shift (meanShift).
 */

export const PSI_EPSILON = 1e-4;
/** Quantile bins a numeric baseline is coarsened to. */
export const PSI_BINS = 10;

export type DriftMetric = 'psi' | 'mean' | 'category' | 'structure';

/** A mean shift scores at most this (a constant baseline whose mean moved). */
export const MEAN_SHIFT_CAP = 100;

/**
 * The mean's shift in the baseline's standard deviations, less two standard errors of the
 * difference (what chance gives), floored at 0:
 *
 *   score = max(0, |μ_c − μ_b| / σ_b − 2 · √(σ_b²/N_b + σ_c²/N_c) / σ_b)
 *
 * σ floored at 1e-6·max(|μ_b|, 1e-9) (float noise), the score capped at MEAN_SHIFT_CAP. Compared
 * with the same threshold as PSI: 0.2 means the mean moved by 0.2 σ beyond chance (docs/drift.md).
 */
export function meanShift(base: FieldSketch, cur: FieldSketch): number {
  const mb = mean(base);
  const mc = mean(cur);
  if (mb === undefined || mc === undefined) return 0;
  const floor = 1e-6 * Math.max(Math.abs(mb), 1e-9);
  const sb = Math.max(stddev(base)!, floor);
  const sc = Math.max(stddev(cur)!, floor);
  const noise = 2 * Math.sqrt((sb * sb) / base.num + (sc * sc) / cur.num);
  const score = (Math.abs(mc - mb) - noise) / sb;
  return Number.isFinite(score) ? Math.min(MEAN_SHIFT_CAP, Math.max(0, score)) : 0;
}

/** PSI over two count vectors of the same bins, bias-corrected as above. */
export function psi(base: readonly number[], cur: readonly number[]): number {
  const nb = sumOf(base);
  const nc = sumOf(cur);
  if (nb === 0 || nc === 0) return 0;
  let k = 0;
  for (let i = 0; i < base.length; i++) if (base[i]! > 0 || cur[i]! > 0) k++;
  // Half a value added to every bin either side has (Jeffreys): an empty bin is a small share, not
  // PSI_EPSILON, so one bin a small sample happens to miss does not weigh ln(share/ε).
  const sb = nb + 0.5 * k;
  const sc = nc + 0.5 * k;
  let raw = 0;
  for (let i = 0; i < base.length; i++) {
    if (base[i]! === 0 && cur[i]! === 0) continue;
    const b = Math.max((base[i]! + 0.5) / sb, PSI_EPSILON);
    const c = Math.max((cur[i]! + 0.5) / sc, PSI_EPSILON);
    raw += (c - b) * Math.log(c / b);
  }
  // PSI · (1/N_b + 1/N_c)⁻¹ is about χ² with k−1 degrees of freedom when nothing changed: less its
  // mean and two of its standard deviations, so two samples of one distribution score 0 about 39
  // times in 40, whatever their size.
  const df = Math.max(0, k - 1);
  const noise = (df + 2 * Math.sqrt(2 * df)) * (1 / nb + 1 / nc);
  return Math.max(0, raw - noise);
}

function sumOf(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

/**
 * The numeric bins: the baseline's buckets cut at its deciles (bucket boundaries, so both sides
 * bin exactly), plus one open bin below and one above the baseline's range. Returns each bin's
 * highest bucket (the last bin: +∞) and the counts on each side.
 */
export function numericBins(
  base: FieldSketch,
  cur: FieldSketch,
): {
  readonly uppers: readonly number[];
  readonly base: number[];
  readonly cur: number[];
} {
  const uppers = [...baselineUppers(base), Number.POSITIVE_INFINITY];
  const binOf = (b: number) => {
    let i = 0;
    while (b > uppers[i]!) i++;
    return i;
  };
  const countInto = (s: FieldSketch) => {
    const out = uppers.map(() => 0);
    for (const [b, c] of s.buckets) out[binOf(b)]! += c;
    return out;
  };
  return { uppers, base: countInto(base), cur: countInto(cur) };
}

/**
 * The baseline's bin cuts, memoized per sketch and count: a baseline (a previous version's
 * all-time sketch) rarely changes while the current window is evaluated again and again.
 */
const cuts = new WeakMap<FieldSketch, { readonly num: number; readonly uppers: readonly number[] }>();

function baselineUppers(base: FieldSketch): readonly number[] {
  const known = cuts.get(base);
  if (known !== undefined && known.num === base.num && known.uppers.length > 0 === base.buckets.size > 0)
    return known.uppers;
  const keys = [...base.buckets.keys()].sort((a, b) => a - b);
  const uppers: number[] = [];
  if (keys.length > 0) {
    uppers.push(keys[0]! - 1); // below the baseline's lowest bucket
    let cum = 0;
    let next = 1;
    for (const b of keys) {
      cum += base.buckets.get(b)!;
      if (cum >= (next * base.num) / PSI_BINS || b === keys.at(-1)) {
        uppers.push(b);
        while (next * base.num <= cum * PSI_BINS) next++;
      }
    }
  }
  cuts.set(base, { num: base.num, uppers });
  return uppers;
}

export function numericPsi(base: FieldSketch, cur: FieldSketch): number {
  const bins = numericBins(base, cur);
  return psi(bins.base, bins.cur);
}

/** Categories: the union of both sides' categories, plus `other`. */
export function categoryBins(
  base: FieldSketch,
  cur: FieldSketch,
): {
  readonly labels: readonly string[];
  readonly base: number[];
  readonly cur: number[];
} {
  const labels = [...new Set([...base.cats.keys(), ...cur.cats.keys()])].sort();
  return {
    labels: [...labels, '(other)'],
    base: [...labels.map((l) => base.cats.get(l) ?? 0), base.other],
    cur: [...labels.map((l) => cur.cats.get(l) ?? 0), cur.other],
  };
}

export function categoryPsi(base: FieldSketch, cur: FieldSketch): number {
  const bins = categoryBins(base, cur);
  return psi(bins.base, bins.cur);
}

/** Structure: PSI over the JSON type mix, `absent` included (how often the field is present). */
export function structurePsi(base: FieldSketch, cur: FieldSketch): number {
  return psi(base.types, cur.types);
}

/** One field compared: the metric that scored highest, and what a pilot reads beside it. */
export type FieldScore = {
  readonly metric: DriftMetric;
  readonly score: number;
  readonly baselineCount: number;
  readonly currentCount: number;
  readonly baselineMean?: number;
  readonly currentMean?: number;
  readonly baselineP50?: number;
  readonly currentP50?: number;
  readonly baselineP90?: number;
  readonly currentP90?: number;
  readonly baselinePresent: number;
  readonly currentPresent: number;
};

/**
 * Compares a field: numeric PSI and the mean shift when either side has numbers, category PSI when either has
 * strings or booleans, structure always; the highest score is the field's. Quantiles (sorting
 * the buckets) only when asked: the live monitors do without.
 */
export function compareField(base: FieldSketch, cur: FieldSketch, quantiles = true): FieldScore {
  let metric: DriftMetric = 'structure';
  let score = structurePsi(base, cur);
  if (base.num > 0 || cur.num > 0) {
    const s = numericPsi(base, cur);
    if (s >= score) [metric, score] = ['psi', s];
    const m = meanShift(base, cur);
    if (m > score) [metric, score] = ['mean', m];
  }
  if (!identifierLike(base) && !identifierLike(cur) && (base.cats.size > 0 || cur.cats.size > 0)) {
    const s = categoryPsi(base, cur);
    if (s > score) [metric, score] = ['category', s];
  }
  const absent = DRIFT_TYPES.indexOf('absent');
  return {
    metric,
    score: round(score),
    baselineCount: base.n,
    currentCount: cur.n,
    ...opt('baselineMean', mean(base)),
    ...opt('currentMean', mean(cur)),
    ...(quantiles
      ? {
          ...opt('baselineP50', quantile(base, 0.5)),
          ...opt('currentP50', quantile(cur, 0.5)),
          ...opt('baselineP90', quantile(base, 0.9)),
          ...opt('currentP90', quantile(cur, 0.9)),
        }
      : {}),
    baselinePresent: base.n === 0 ? 0 : round(1 - base.types[absent]! / base.n),
    currentPresent: cur.n === 0 ? 0 : round(1 - cur.types[absent]! / cur.n),
  };
}

/**
 * Values mostly distinct (ids, names, free text): their shares say nothing, so such a field is
 * compared by structure only. True when the category cap was reached, or when at least 20 strings
 * or booleans have more than half as many distinct values.
 */
export function identifierLike(s: FieldSketch): boolean {
  if (s.other > 0 || s.cats.size >= CATEGORY_CAP) return true;
  let counted = 0;
  for (const c of s.cats.values()) counted += c;
  return counted >= 20 && s.cats.size * 2 > counted;
}

function opt<K extends string>(key: K, v: number | undefined): { [P in K]?: number } {
  return (v === undefined ? {} : { [key]: round(v) }) as { [P in K]?: number };
}

/** Scores and means are reported to 6 significant digits: stable text, no float noise. */
export function round(v: number): number {
  return v === 0 ? 0 : Number(v.toPrecision(6));
}
