import type { Envelope } from '../envelope/index.js';
import type { ReplayBreaker, ReplayChange, ReplayDriftAlarm, SuppressedMessage } from './replay-report.js';

/** What the replay engine (replay-engine.ts) found, which replay.ts turns into the report. */
export type ReplayFold = {
  decisions: number;
  matrix: Map<string, number>;
  changes: ReplayChange[];
  suppressed: string[];
  wouldNotHappen: SuppressedMessage[];
  kept: { runtimeFacts: number; noEnvelope: number };
  pilot: { replayed: number; moot: number };
  /** Effects admitted (for good) in the recording, and under the candidate. */
  recordedEffects: Map<string, Envelope>;
  candidateEffects: Map<string, Envelope>;
  recordedBreakers: Map<string, ReplayBreaker>;
  candidateBreakers: Map<string, ReplayBreaker>;
  /** Drift alarms raised (the first per monitor, agent version and field), on either side. */
  recordedDrift: Map<string, ReplayDriftAlarm>;
  candidateDrift: Map<string, ReplayDriftAlarm>;
  /** Which change cut each suppressed message off (its root cause in the replay). */
  cutBy: Map<string, string>;
  /** Agent versions that ran and that the candidate registers otherwise (replay-versions.ts). */
  versionsAdopted: readonly string[];
};

export function emptyFold(): ReplayFold {
  return {
    decisions: 0,
    matrix: new Map(),
    changes: [],
    suppressed: [],
    wouldNotHappen: [],
    kept: { runtimeFacts: 0, noEnvelope: 0 },
    pilot: { replayed: 0, moot: 0 },
    recordedEffects: new Map(),
    candidateEffects: new Map(),
    recordedBreakers: new Map(),
    candidateBreakers: new Map(),
    recordedDrift: new Map(),
    candidateDrift: new Map(),
    cutBy: new Map(),
    versionsAdopted: [],
  };
}
