import type { Envelope } from '../envelope/index.js';
import { PILOT_BREAKER, parseBreakerKey, type StateDelta } from '../state/index.js';
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

/** Notes the first opening of each breaker (pilot freezes aside) and drift alarm in `deltas`, on one side. */
export function noteOpenings(
  fold: ReplayFold,
  side: 'recorded' | 'candidate',
  deltas: readonly StateDelta[] | undefined,
  at: number,
): void {
  const breakers = side === 'recorded' ? fold.recordedBreakers : fold.candidateBreakers;
  const drift = side === 'recorded' ? fold.recordedDrift : fold.candidateDrift;
  for (const d of deltas ?? []) {
    if (d.kind === 'drift-alarm') {
      const a = d.alarm;
      const key = `${a.monitor}|${a.agent}|${a.field}`;
      if (!drift.has(key))
        drift.set(key, {
          monitor: a.monitor,
          agent: a.agent,
          field: a.field,
          metric: a.metric,
          score: a.score,
          threshold: a.threshold,
          at: a.at,
        });
      continue;
    }
    if (d.kind !== 'breaker-open') continue;
    const k = parseBreakerKey(d.key);
    if (k === undefined || k.id === PILOT_BREAKER || breakers.has(d.key)) continue;
    breakers.set(d.key, { id: k.id, key: k.scopeKey, at: d.state.openedAt ?? at, action: d.state.action });
  }
}
