import { isMeshwardenError } from '../envelope/index.js';
import type { LedgerReader } from '../ledger/index.js';
import {
  addValue,
  bucketEdges,
  categoryBins,
  compareField,
  DRIFT_TYPES,
  type DriftValue,
  type FieldScore,
  type FieldSketch,
  mergeInto,
  newFieldSketch,
  numericBins,
  psi,
  round,
} from '../state/index.js';
import { parseDriftTarget, unknownDriftTarget } from './drift-target.js';
import { ENTRY } from './records.js';

/**
 * `meshwarden drift` and `GET /api/v1/drift` (docs/drift.md): output drift of every agent version
 * against the version before it, computed from the ledger with no monitor configured. One pass over
 * the entries; memory bounded per agent version and type (FIELDS_PER_TYPE sketches, each bounded).
 */

/** Fields discovered per agent version and type, and how deep into the payload. */
export const FIELDS_PER_TYPE = 32;
const MAX_DEPTH = 3;
const VERDICTS = ['deliver', 'deny', 'hold', 'quarantine'] as const;

export type DriftReportOptions = {
  /**
   * `agent` or `agent@version`: only that agent (and version, compared with the one before). A
   * malformed one throws `MW_RUNTIME_DRIFT_TARGET`, one the ledger never saw `MW_RUNTIME_DRIFT_UNKNOWN`.
   */
  readonly only?: string;
  readonly threshold?: number;
  /** Values needed on each side before a field may count as drifted. */
  readonly minSamples?: number;
  /** Add each field's binned distributions (the API's charts). */
  readonly bins?: boolean;
  /** Called every 100,000 decision and delivery entries scanned. */
  readonly progress?: (scanned: number) => void;
};

export type DriftBins = {
  /** Numeric: each bin's [low, high) edges, ±Infinity written as null. Categorical: labels. */
  readonly edges?: readonly (readonly [number | null, number | null])[];
  readonly labels?: readonly string[];
  readonly baseline: readonly number[];
  readonly current: readonly number[];
};

export type DriftFieldReport = FieldScore & {
  readonly type: string;
  readonly field: string;
  readonly threshold: number;
  /** Both sides have `minSamples` values: only then can it drift (not enough is not "stable"). */
  readonly enough: boolean;
  readonly drifted: boolean;
  readonly bins?: DriftBins;
};

export type DriftShift = {
  readonly metric: 'fanout' | 'verdicts' | 'types';
  readonly baseline: number | Readonly<Record<string, number>>;
  readonly current: number | Readonly<Record<string, number>>;
  readonly score: number;
  readonly threshold: number;
  /** The values it was judged on: inputs (fanout), emissions (verdicts), delivered emissions (types). */
  readonly baselineCount: number;
  readonly currentCount: number;
  readonly enough: boolean;
  readonly drifted: boolean;
};

export type DriftAgentReport = {
  readonly agent: string;
  readonly version: string;
  readonly baseline: string;
  readonly fields: readonly DriftFieldReport[];
  /** Emissions (messages and effect requests) per input consumed. */
  readonly fanout: DriftShift;
  /** Shares of its emissions (messages and effect requests) delivered, denied, held, quarantined. */
  readonly verdicts: DriftShift;
  /** Shares of its delivered emissions by message type: a type it starts or stops emitting. */
  readonly types: DriftShift;
  /**
   * Every field and shift had `minSamples` values on both sides. Not drifted and not enough: too few
   * values to call it stable (`meshwarden drift` says so).
   */
  readonly enough: boolean;
  readonly drifted: boolean;
};

export type DriftReport = {
  readonly agents: readonly DriftAgentReport[];
  readonly threshold: number;
  readonly minSamples: number;
  /** Decision and delivery entries read: the kinds drift compares, not the whole ledger. */
  readonly scanned: number;
};

type TypeStats = { emitted: number; readonly fields: Map<string, FieldSketch> };
type VersionStats = {
  readonly version: string;
  readonly firstAt: number;
  readonly types: Map<string, TypeStats>;
  readonly verdicts: Record<string, number>;
  emissions: number;
  inputs: number;
  lastCause: string | undefined;
};

/** Reads the ledger once and compares each agent version with the one before it. */
export async function driftReport(ledger: LedgerReader, opts: DriftReportOptions = {}): Promise<DriftReport> {
  const threshold = opts.threshold ?? 0.2;
  const minSamples = opts.minSamples ?? 30;
  const target = opts.only === undefined ? undefined : parseDriftTarget(opts.only);
  if (isMeshwardenError(target)) throw target;
  const [onlyAgent, onlyVersion] = [target?.agent, target?.version];
  const agents = new Map<string, Map<string, VersionStats>>();
  // The agents left out by `only`, and their versions: what a mistyped name is told the ledger has.
  const others = new Map<string, Set<string>>();
  const statsOf = (actor: string, at: number): VersionStats | undefined => {
    const i = actor.lastIndexOf('@');
    if (i <= 0 || actor.includes(':')) return undefined; // ingress:, effect:, pilot:, breaker:
    const name = actor.slice(0, i);
    const version = actor.slice(i + 1);
    if (onlyAgent !== undefined && name !== onlyAgent) {
      const seen = others.get(name) ?? new Set<string>();
      others.set(name, seen.add(version));
      return undefined;
    }
    let versions = agents.get(name);
    if (versions === undefined) {
      versions = new Map();
      agents.set(name, versions);
    }
    let v = versions.get(version);
    if (v === undefined) {
      v = {
        version,
        firstAt: at,
        types: new Map(),
        verdicts: {},
        emissions: 0,
        inputs: 0,
        lastCause: undefined,
      };
      versions.set(version, v);
    }
    return v;
  };
  let scanned = 0;
  for await (const e of ledger.scan({ kinds: [ENTRY.decision, ENTRY.delivered] })) {
    scanned++;
    if (scanned % 100_000 === 0) opts.progress?.(scanned);
    if (e.agent === undefined) continue;
    const v = statsOf(e.agent, e.at);
    if (v === undefined) continue;
    if (e.kind === ENTRY.delivered) {
      v.inputs++; // a handler that returned without emitting
      continue;
    }
    const d = e.data as {
      gated?: string;
      verdict?: { decision?: string };
      envelope?: { type?: string; data?: unknown };
    };
    // Messages and effect requests alike are what the agent emitted (fan-out, verdict mix); only
    // delivered messages' payloads are sketched below.
    if (d.gated !== 'message' && d.gated !== 'effect') continue;
    v.emissions++;
    // A handler's emissions are chained one after the other: a new cause is a new input consumed.
    if (e.causationId !== v.lastCause) v.inputs++;
    v.lastCause = e.causationId;
    const verdict = d.verdict?.decision ?? 'deny';
    v.verdicts[verdict] = (v.verdicts[verdict] ?? 0) + 1;
    if (d.gated !== 'message' || verdict !== 'deliver' || d.envelope?.type === undefined) continue;
    let t = v.types.get(d.envelope.type);
    if (t === undefined) {
      t = { emitted: 0, fields: new Map() };
      v.types.set(d.envelope.type, t);
    }
    t.emitted++;
    walk(d.envelope.data, '', 0, t.fields);
  }
  if (target !== undefined) {
    const seen = new Map<string, string[]>();
    for (const [name, versions] of agents)
      seen.set(
        name,
        [...versions.values()].sort((a, b) => a.firstAt - b.firstAt).map((v) => v.version),
      );
    for (const [name, versions] of [...others].sort(([a], [b]) => a.localeCompare(b)))
      seen.set(name, [...versions]);
    const unknown = unknownDriftTarget(target, seen);
    if (unknown !== undefined) throw unknown;
  }
  const out: DriftAgentReport[] = [];
  for (const name of [...agents.keys()].sort()) {
    const versions = [...agents.get(name)!.values()].sort((a, b) => a.firstAt - b.firstAt);
    for (let i = 1; i < versions.length; i++) {
      const cur = versions[i]!;
      if (onlyVersion !== undefined && cur.version !== onlyVersion) continue;
      out.push(compareVersions(name, versions[i - 1]!, cur, threshold, minSamples, opts.bins === true));
    }
  }
  return { agents: out, threshold, minSamples, scanned };
}

/** Adds the payload's leaves (objects walked MAX_DEPTH deep) to their sketches, up to FIELDS_PER_TYPE. */
function walk(value: unknown, pointer: string, depth: number, fields: Map<string, FieldSketch>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && depth < MAX_DEPTH) {
    for (const [k, v] of Object.entries(value))
      walk(v, `${pointer}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`, depth + 1, fields);
    return;
  }
  if (pointer === '') return;
  let s = fields.get(pointer);
  if (s === undefined) {
    if (fields.size >= FIELDS_PER_TYPE) return;
    s = newFieldSketch();
    fields.set(pointer, s);
  }
  const v: DriftValue =
    value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean'
      ? value
      : { t: Array.isArray(value) ? 'array' : 'object' };
  addValue(s, v);
}

const ABSENT = DRIFT_TYPES.indexOf('absent');

/** The field's sketch over all `emitted` payloads: those that lacked it count as `absent` (O(1)). */
function withAbsent(s: FieldSketch | undefined, emitted: number): FieldSketch {
  const out = newFieldSketch();
  if (s !== undefined) mergeInto(out, s);
  const missing = Math.max(0, emitted - out.n);
  out.n += missing;
  out.types[ABSENT]! += missing;
  return out;
}

function compareVersions(
  agent: string,
  base: VersionStats,
  cur: VersionStats,
  threshold: number,
  minSamples: number,
  bins: boolean,
): DriftAgentReport {
  const fields: DriftFieldReport[] = [];
  const types = [...new Set([...base.types.keys(), ...cur.types.keys()])].sort();
  for (const type of types) {
    const bt = base.types.get(type) ?? { emitted: 0, fields: new Map() };
    const ct = cur.types.get(type) ?? { emitted: 0, fields: new Map() };
    const names = [...new Set([...bt.fields.keys(), ...ct.fields.keys()])].sort();
    for (const field of names) {
      // A side whose field list is full may simply not have tracked this field: absent there is
      // unknown, not 0 %, so the field is compared only when both sides track it.
      const untracked = (t: TypeStats) => !t.fields.has(field) && t.fields.size >= FIELDS_PER_TYPE;
      if (untracked(bt) || untracked(ct)) continue;
      const b = withAbsent(bt.fields.get(field), bt.emitted);
      const c = withAbsent(ct.fields.get(field), ct.emitted);
      const score = compareField(b, c);
      const enough = score.baselineCount >= minSamples && score.currentCount >= minSamples;
      fields.push({
        type,
        field,
        ...score,
        threshold,
        enough,
        drifted: enough && score.score >= threshold,
        ...(bins ? { bins: binsOf(b, c, score.metric) } : {}),
      });
    }
  }
  const rate = (v: VersionStats) => (v.inputs === 0 ? 0 : v.emissions / v.inputs);
  const [fb, fc] = [rate(base), rate(cur)];
  const fanScore = round(fb === 0 ? (fc === 0 ? 0 : 1) : Math.abs(fc - fb) / fb);
  const fanEnough = base.inputs >= minSamples && cur.inputs >= minSamples;
  const fanout: DriftShift = {
    metric: 'fanout',
    baseline: round(fb),
    current: round(fc),
    score: fanScore,
    threshold,
    baselineCount: base.inputs,
    currentCount: cur.inputs,
    enough: fanEnough,
    drifted: fanEnough && fanScore >= threshold,
  };
  const mix = (v: VersionStats) => VERDICTS.map((k) => v.verdicts[k] ?? 0);
  const verdictScore = round(psi(mix(base), mix(cur)));
  const verdicts: DriftShift = {
    metric: 'verdicts',
    baseline: shares(base.verdicts),
    current: shares(cur.verdicts),
    score: verdictScore,
    threshold,
    baselineCount: base.emissions,
    currentCount: cur.emissions,
    enough: base.emissions >= minSamples && cur.emissions >= minSamples,
    drifted: base.emissions >= minSamples && cur.emissions >= minSamples && verdictScore >= threshold,
  };
  const delivered = (v: VersionStats) => types.map((t) => v.types.get(t)?.emitted ?? 0);
  const [db, dc] = [delivered(base), delivered(cur)];
  const typeScore = round(psi(db, dc));
  const typeShares = (counts: number[]) => {
    const total = counts.reduce((a, b) => a + b, 0);
    return Object.fromEntries(types.map((t, i) => [t, total === 0 ? 0 : round(counts[i]! / total)]));
  };
  const [tb, tc] = [db.reduce((a, b) => a + b, 0), dc.reduce((a, b) => a + b, 0)];
  const enoughTypes = tb >= minSamples && tc >= minSamples;
  const typeMix: DriftShift = {
    metric: 'types',
    baseline: typeShares(db),
    current: typeShares(dc),
    score: typeScore,
    threshold,
    baselineCount: tb,
    currentCount: tc,
    enough: enoughTypes,
    drifted: enoughTypes && typeScore >= threshold,
  };
  return {
    agent,
    version: cur.version,
    baseline: base.version,
    fields,
    fanout,
    verdicts,
    types: typeMix,
    enough: fields.every((f) => f.enough) && fanout.enough && verdicts.enough && typeMix.enough,
    drifted: fields.some((f) => f.drifted) || fanout.drifted || verdicts.drifted || typeMix.drifted,
  };
}

function shares(counts: Readonly<Record<string, number>>): Record<string, number> {
  const total = VERDICTS.reduce((n, k) => n + (counts[k] ?? 0), 0);
  return Object.fromEntries(VERDICTS.map((k) => [k, total === 0 ? 0 : round((counts[k] ?? 0) / total)]));
}

/** The bins a field was scored over, for charts: numeric bins with their edges, or categories. */
export function binsOf(base: FieldSketch, cur: FieldSketch, metric: string): DriftBins {
  if (metric === 'structure' && base.num === 0 && cur.num === 0) {
    return { labels: [...DRIFT_TYPES], baseline: [...base.types], current: [...cur.types] };
  }
  if (metric === 'category') {
    const c = categoryBins(base, cur);
    return { labels: c.labels, baseline: c.base, current: c.cur };
  }
  const n = numericBins(base, cur);
  const edges = n.uppers.map((upper, i): [number | null, number | null] => {
    const lowBucket = i === 0 ? undefined : n.uppers[i - 1]!;
    const low = lowBucket === undefined ? null : bucketEdges(lowBucket)[1];
    const high = Number.isFinite(upper) ? bucketEdges(upper)[1] : null;
    return [low === null ? null : round(low), high === null ? null : round(high)];
  });
  return { edges, baseline: n.base, current: n.cur };
}
