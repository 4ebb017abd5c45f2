import type { Envelope, GatedKind } from '../envelope/index.js';
import type { Verdict } from '../gate/index.js';

// What a replay reports (`meshwarden replay --json`, `POST /api/v1/replay`): the verdict matrix, each
// changed decision, what would not have happened, the effects that would not have run with sums of
// their numbers per subject, and the breakers on either side. Names are a contract: extend, never
// rename.

/** A verdict as the report shows it: its decision, stage, rule and reason (and the sentence). */
export type VerdictView = {
  readonly verdict: string;
  readonly stage: string;
  readonly rule?: string;
  readonly reason: string;
  readonly detail?: string;
};

/** One decision (or hold release) the candidate decides otherwise. */
export type ReplayChange = {
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  /** `decision` (the gate's verdict), or `release` (a hold's outcome: a pilot's, or its timeout's). */
  readonly kind: 'decision' | 'release';
  readonly gated: GatedKind;
  readonly at: number;
  readonly recorded: VerdictView;
  readonly candidate: VerdictView;
  /** The candidate admits what was refused: agents are not re-run, so what would follow is unknown. */
  readonly followUnknown?: true;
  /** Recorded descendants that would not have happened because of this change (0 when none). */
  readonly suppressed: number;
  /** Recorded descendants of a hold the candidate released later with deliver: their future is unknown. */
  readonly delayed?: number;
};

/** A recorded message or effect that would not have happened under the candidate. */
export type SuppressedMessage = {
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  readonly gated: GatedKind;
  readonly at: number;
};

/** Sums of an effect type's numeric data fields for one subject, with the text fields all share. */
export type EffectSums = {
  readonly count: number;
  /** Numeric top-level data fields, summed (`amount: 75`). */
  readonly sums: Record<string, number>;
  /** Text fields with one value across them all (`currency: EUR`): the unit of the sums. */
  readonly units: Record<string, string>;
};

export type EffectsByType = Record<
  string,
  { readonly count: number; readonly bySubject: Record<string, EffectSums> }
>;

/** A breaker opening, as either side saw it (the first time it opened for that key). */
export type ReplayBreaker = {
  readonly id: string;
  readonly key: string;
  readonly at: number;
  readonly action: string;
  /** In the candidate's list: when the recording opened it too (absent when it did not). */
  readonly recordedAt?: number;
};

/** A drift monitor's alarm (docs/drift.md), as either side raised it. */
export type ReplayDriftAlarm = {
  readonly monitor: string;
  /** `name@version` of the agent watched. */
  readonly agent: string;
  readonly field: string;
  readonly metric: string;
  readonly score: number;
  readonly threshold: number;
  readonly at: number;
};

export type ReplayReport = {
  readonly mesh: string;
  readonly candidate: { readonly digest: string; readonly file: string };
  /** Digests of the recorded policies (`policy.loaded`, `partition.owned`), in the order first seen. */
  readonly recordedPolicies: readonly string[];
  /** Whether the candidate's digest is one of them. */
  readonly sameAsRecorded: boolean;
  readonly from?: number;
  readonly to?: number;
  /** Decisions decided again (suppressed ones are not). */
  readonly decisions: number;
  /** Decisions and releases whose outcome the candidate changes (all; `changes` lists the first `limit`). */
  readonly changed: number;
  /** Of `changed`, the hold outcomes (`kind: release`), which the matrix does not count. */
  readonly changedReleases: number;
  /** `recorded→candidate` verdict counts over the decisions decided again. */
  readonly matrix: Record<string, number>;
  readonly changes: readonly ReplayChange[];
  /** Ids of recorded messages and effects that would not have happened (their cause was cut): the first `limit`. */
  readonly suppressed: readonly string[];
  /** How many would not have happened (all of them). */
  readonly suppressedTotal: number;
  /**
   * Ids of recorded messages and effects whose cause the candidate held and released later with
   * deliver: they may have happened, later; their future is unknown. The first `limit`.
   */
  readonly delayed: readonly string[];
  readonly delayedTotal: number;
  /** How many changes, suppressed ids and delayed ids the report lists at most. */
  readonly limit: number;
  /** The same, each with its type, subject, kind and time (in `suppressed`'s order): the first `limit`. */
  readonly wouldNotHappen: readonly SuppressedMessage[];
  /** Decisions kept as recorded: runtime facts no policy decides (a taken id), input the ledger kept no text of. */
  readonly kept: { readonly runtimeFacts: number; readonly noEnvelope: number };
  /**
   * Agent versions that ran (`name@version`) where the candidate registers another version: decided
   * as if the candidate registered the version that ran (docs/replay.md).
   */
  readonly versionsAdopted: readonly string[];
  /** Pilot inputs replayed: releases, freezes, unfreezes, resets; `moot` when nothing was there to act on. */
  readonly pilot: { readonly replayed: number; readonly moot: number };
  readonly effects: {
    readonly wouldNotRun: number;
    readonly byType: EffectsByType;
    /** Effects the candidate admits that did not run: agents and executors are not re-run. */
    readonly wouldRun: number;
    readonly wouldRunByType: EffectsByType;
  };
  readonly breakers: {
    readonly recorded: readonly ReplayBreaker[];
    readonly candidate: readonly ReplayBreaker[];
    /** Opened under the candidate, not in the recording. */
    readonly wouldOpen: readonly ReplayBreaker[];
    /** Opened in the recording, not under the candidate. */
    readonly wouldNotOpen: readonly ReplayBreaker[];
  };
  /** Drift alarms the recording raised and the candidate would raise (the first of each). */
  readonly drift: {
    readonly recorded: readonly ReplayDriftAlarm[];
    readonly candidate: readonly ReplayDriftAlarm[];
  };
};

export function verdictView(v: Verdict | VerdictView, decision?: string): VerdictView {
  const verdict = decision ?? ('decision' in v ? (v as Verdict).decision : (v as VerdictView).verdict);
  return {
    verdict,
    stage: v.stage,
    ...(v.rule === undefined ? {} : { rule: v.rule }),
    reason: v.reason,
    ...(v.detail === undefined ? {} : { detail: v.detail }),
  };
}

/** Adds an effect's data to the per-type, per-subject sums. */
export function addEffect(
  into: Record<string, { count: number; bySubject: Record<string, EffectSums> }>,
  e: Envelope,
): void {
  const t = into[e.type] ?? { count: 0, bySubject: {} };
  into[e.type] = t;
  t.count++;
  const s = (t.bySubject[e.subject] ?? { count: 0, sums: {}, units: {} }) as {
    count: number;
    sums: Record<string, number>;
    units: Record<string, string>;
  };
  t.bySubject[e.subject] = s;
  const data = e.data !== null && typeof e.data === 'object' && !Array.isArray(e.data) ? e.data : {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v === 'number' && Number.isFinite(v)) s.sums[k] = (s.sums[k] ?? 0) + v;
    else if (typeof v === 'string' && v.length <= 16 && (k === 'currency' || k === 'unit')) {
      if (s.count === 0) s.units[k] = v;
      else if (s.units[k] !== v) delete s.units[k];
    }
  }
  s.count++;
}

/** "3 × credit.issue for account:8841: amount 75 EUR". */
export function effectSentence(type: string, subject: string, s: EffectSums): string {
  const unit = Object.values(s.units).join(' ');
  const sums = Object.entries(s.sums).map(([k, v]) => `${k} ${round(v)}${unit === '' ? '' : ` ${unit}`}`);
  return `${s.count} × ${type} for ${subject}${sums.length === 0 ? '' : `: ${sums.join(', ')}`}`;
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

export function admits(d: string): boolean {
  return d === 'deliver';
}

export function sameVerdict(a: Verdict, b: Verdict): boolean {
  return a.decision === b.decision && a.stage === b.stage && a.rule === b.rule && a.reason === b.reason;
}

/** A timed-out approval hold, as one side decided it: its rule, how long it waited, its `onTimeout`. */
export type TimeoutSide = { readonly rule: string; readonly afterMs: number; readonly onTimeout: string };

/** A release's outcome as a verdict: the re-gate's when it refused, else the release itself. */
export function releaseView(
  outcome: string,
  regate: Verdict | undefined,
  by: string | undefined,
  timeout?: TimeoutSide,
): VerdictView {
  if (regate !== undefined && regate.decision !== 'deliver') return verdictView(regate, outcome);
  if (by === 'timeout' && timeout !== undefined)
    return {
      verdict: outcome,
      stage: 'release',
      rule: timeout.rule,
      reason: 'release.timeout',
      detail: `${timeout.rule} timed out after ${duration(timeout.afterMs)}; onTimeout ${timeout.onTimeout}.`,
    };
  return {
    verdict: outcome,
    stage: 'release',
    reason: by === 'timeout' ? 'release.timeout' : 'release.pilot',
    detail: by === 'timeout' ? 'The hold timed out.' : `Released by ${by ?? 'a pilot'}.`,
  };
}

/** `2s`, `1.5s`, `30ms`, `2m`: a wait as people write it (to a tenth of a second past one second). */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 100) / 10}s`;
}
