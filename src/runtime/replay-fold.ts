import type {
  EffectsByType,
  ReplayBreaker,
  ReplayChange,
  ReplayDriftAlarm,
  SuppressedMessage,
} from './replay-report.js';

/** The report keeps the first this many changes, suppressed ids and delayed ids (and counts them all). */
export const REPLAY_LIMIT = 1000;

/** What the replay engine (replay-engine.ts) found, which replay.ts turns into the report. */
export type ReplayFold = {
  decisions: number;
  matrix: Map<string, number>;
  /** The first `limit` changes; `changed` counts them all. */
  changes: ReplayChange[];
  changed: number;
  /** The first `limit` ids of what would not have happened; `suppressedTotal` counts them all. */
  suppressed: string[];
  suppressedTotal: number;
  /** The first `limit` ids of what a candidate hold delayed (released later): their future is unknown. */
  delayed: string[];
  delayedTotal: number;
  /** Of the changes, the hold outcomes (`kind: release`): all of them. */
  changedReleases: number;
  /** The first `limit` of what would not have happened, with type, subject, kind and time. */
  wouldNotHappen: SuppressedMessage[];
  kept: { runtimeFacts: number; noEnvelope: number };
  pilot: { replayed: number; moot: number };
  /** Sums of the effects that would not have run, and of those the candidate admits that did not run. */
  wouldNotRun: number;
  wouldNot: EffectsByType;
  wouldRun: number;
  would: EffectsByType;
  recordedBreakers: Map<string, ReplayBreaker>;
  candidateBreakers: Map<string, ReplayBreaker>;
  /** Drift alarms raised (the first per monitor, agent version and field), on either side. */
  recordedDrift: Map<string, ReplayDriftAlarm>;
  candidateDrift: Map<string, ReplayDriftAlarm>;
  /** Agent versions that ran and that the candidate registers otherwise (replay-versions.ts). */
  versionsAdopted: readonly string[];
};

export function emptyFold(): ReplayFold {
  return {
    decisions: 0,
    matrix: new Map(),
    changes: [],
    changed: 0,
    suppressed: [],
    suppressedTotal: 0,
    delayed: [],
    delayedTotal: 0,
    changedReleases: 0,
    wouldNotHappen: [],
    kept: { runtimeFacts: 0, noEnvelope: 0 },
    pilot: { replayed: 0, moot: 0 },
    wouldNotRun: 0,
    wouldNot: {},
    wouldRun: 0,
    would: {},
    recordedBreakers: new Map(),
    candidateBreakers: new Map(),
    recordedDrift: new Map(),
    candidateDrift: new Map(),
    versionsAdopted: [],
  };
}
