import { type Envelope, parseSource } from '../envelope/index.js';
import type { AgentSpec, DriftMonitor } from '../policy/index.js';
import {
  breakerKey,
  breakerOpenAt,
  DRIFT_EVAL_EVERY,
  type DriftAlarm,
  driftDigest,
  driftStateFor,
  driftValueAt,
  evaluateDrift,
  type StateDelta,
  versionCount,
} from '../state/index.js';
import type { GateFrame } from './context.js';

/**
 * Drift monitors on a delivered emission (docs/drift.md): its monitored fields become a
 * `drift-sample` delta; on every DRIFT_EVAL_EVERY-th value of the version the monitor is evaluated
 * on the state as it stood before this message (its own values count from the next one); a first crossing of the threshold for this version
 * adds a `drift-alarm` delta and, for `freeze` or `deny`, opens the monitor's breaker on the agent.
 * The alarm stays raised for that version until a pilot's reset (`drift-reset`): no flapping. Pure.
 */
export function driftDeltas(
  frame: GateFrame,
  monitors: readonly DriftMonitor[],
  env: Envelope,
  agent: AgentSpec,
  deltas: StateDelta[],
): void {
  const { state, now } = frame;
  const version = parseSource(env.source)?.version ?? agent.version;
  for (const m of monitors) {
    const values = m.fieldPaths.map((p) => driftValueAt(env.data, p));
    const digest = driftDigest(m);
    // State built for another agent, type or fields (before a reload) is not this monitor's.
    const before = driftStateFor(state.drift(m.id), m);
    // Every DRIFT_EVAL_EVERY-th value of the version (counted before this one) is evaluated.
    const due = versionCount(before, version) % DRIFT_EVAL_EVERY === 0;
    const ev = due ? evaluateDrift(before, m, version, now) : undefined;
    const alarmed = before?.alarmed.has(version) === true;
    deltas.push({
      kind: 'drift-sample',
      // Members in canonical order, so the decision entry serializes on the fast path.
      sample: {
        at: now,
        digest,
        ...(m.baseline.kind === 'version' ? { keep: m.baseline.version } : {}),
        monitor: m.id,
        ...(m.baseline.kind === 'window' ? { trailingMs: m.baseline.windowMs } : {}),
        values,
        version,
        windowMs: m.windowMs,
      },
    });
    // Once per monitor and version: a score that dips under the threshold and back does not
    // alarm again; only a pilot's reset (drift-reset) or a new version does.
    if (alarmed || ev === undefined || !ev.over) continue;
    const f = ev.fieldScore;
    const alarm: DriftAlarm = {
      action: m.action,
      agent: `${agent.name}@${version}`,
      at: now,
      baseline: ev.baseline,
      baselineCount: f.baselineCount,
      ...(f.baselineMean === undefined ? {} : { baselineMean: f.baselineMean }),
      current: version,
      currentCount: f.currentCount,
      ...(f.currentMean === undefined ? {} : { currentMean: f.currentMean }),
      field: ev.field,
      metric: f.metric,
      monitor: m.id,
      score: f.score,
      threshold: m.threshold,
      type: m.type,
    };
    deltas.push({ alarm, kind: 'drift-alarm' });
    if (m.action === 'alert') continue;
    const key = breakerKey(m.id, agent.name);
    if (breakerOpenAt(state.breaker(key), now)) continue;
    deltas.push({
      kind: 'breaker-open',
      key,
      state: { state: 'open', action: m.action, openedAt: now, by: `drift:${m.id}` },
    });
  }
}
