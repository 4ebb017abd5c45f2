import { PILOT_BREAKER, parseBreakerKey, type StateDelta } from '../state/index.js';
import type { ReplayFold } from './replay-fold.js';

/** Notes the breakers opened and drift alarms raised by `deltas` (the first of each), on either side. */
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
