import { describe, expect, it } from 'vitest';
import type { DriftMonitor, Policy } from '../policy/index.js';
import { breakerKey, createMemoryState, type StateStore } from '../state/index.js';
import { envelope, NOW, step, testPolicy } from './test-kit.js';

const monitor = (action: DriftMonitor['action']): DriftMonitor => ({
  id: 'churn-prob',
  agent: 'churn',
  type: 'churn.assessed.v1',
  fields: ['/probability'],
  fieldPaths: [['probability']],
  windowMs: 3_600_000,
  baseline: { kind: 'previous' },
  threshold: 0.2,
  minSamples: 50,
  action,
});

/** The retention policy with churn at `version` and one drift monitor. */
function policyAt(version: string, action: DriftMonitor['action']): Policy {
  const base = testPolicy();
  const agents = new Map(base.agents);
  agents.set('churn', { ...base.agents.get('churn')!, version });
  return testPolicy({ agents, drift: [monitor(action)] });
}

/** churn@version emits n assessments spread around `center`, one a second from `at`; returns the decisions. */
function emit(store: StateStore, policy: Policy, version: string, n: number, center: number, at: number) {
  return Array.from({ length: n }, (_, i) => {
    const probability = center + 0.2 * (((i * 7919) % 1000) / 1000 - 0.5);
    const env = envelope({
      source: `mesh://retention/churn@${version}`,
      type: 'churn.assessed.v1',
      data: { probability },
      hop: 1,
    });
    return step(store, policy, env, { now: at + i * 1000 });
  });
}

describe('drift monitors in the gate', () => {
  it('costs nothing without monitors: no drift deltas', () => {
    const store = createMemoryState();
    const d = emit(store, testPolicy(), '2.0.1', 3, 0.5, NOW);
    expect(d.flatMap((x) => x.deltas).filter((x) => x.kind.startsWith('drift'))).toEqual([]);
  });

  it('alarms once when the new version shifts, and freezes the agent', () => {
    const store = createMemoryState();
    emit(store, policyAt('2.0.1', 'freeze'), '2.0.1', 200, 0.5, NOW);
    const v2 = policyAt('2.1.0', 'freeze');
    const later = emit(store, v2, '2.1.0', 80, 0.6, NOW + 600_000);
    const alarms = later.flatMap((d) => d.deltas).filter((d) => d.kind === 'drift-alarm');
    expect(alarms).toHaveLength(1);
    const alarm = alarms[0]!.kind === 'drift-alarm' ? alarms[0]!.alarm : undefined;
    expect(alarm).toMatchObject({
      monitor: 'churn-prob',
      baseline: '2.0.1',
      current: '2.1.0',
      metric: 'psi',
    });
    expect(alarm!.currentCount).toBeGreaterThanOrEqual(50);
    expect(store.breaker(breakerKey('churn-prob', 'churn'))?.by).toBe('drift:churn-prob');
    // Everything churn emits after the alarm is held for a pilot.
    const after = later.findIndex((d) => d.deltas.some((x) => x.kind === 'drift-alarm'));
    expect(later.slice(after + 1).map((d) => d.verdict.reason)).toEqual(
      later.slice(after + 1).map(() => 'breaker.frozen'),
    );
  });

  it('alarms again after a pilot reset only once new values show the drift', () => {
    const store = createMemoryState();
    emit(store, policyAt('2.0.1', 'freeze'), '2.0.1', 200, 0.5, NOW);
    const v2 = policyAt('2.1.0', 'freeze');
    emit(store, v2, '2.1.0', 60, 0.6, NOW + 600_000);
    // What a pilot's reset of the breaker records (runtime/pilot-decision.ts).
    store.apply([
      { kind: 'breaker-close', key: breakerKey('churn-prob', 'churn') },
      { kind: 'drift-reset', monitor: 'churn-prob' },
    ]);
    expect(store.drift('churn-prob')?.alarmed.size).toBe(0);
    const again = emit(store, v2, '2.1.0', 70, 0.6, NOW + 700_000);
    const at = again.findIndex((d) => d.deltas.some((x) => x.kind === 'drift-alarm'));
    expect(at).toBeGreaterThanOrEqual(50);
    expect(again.slice(0, at + 1).every((d) => d.verdict.decision === 'deliver')).toBe(true);
  });

  it('alarms once per version, whatever the score does after (no clear, no flapping)', () => {
    const store = createMemoryState();
    emit(store, policyAt('2.0.1', 'alert'), '2.0.1', 200, 0.5, NOW);
    const v2 = policyAt('2.1.0', 'alert');
    const all = [
      ...emit(store, v2, '2.1.0', 100, 0.6, NOW + 600_000),
      // Back to the baseline for two windows (the score falls under), then drifted again.
      ...emit(store, v2, '2.1.0', 400, 0.5, NOW + 2 * 3_600_000),
      ...emit(store, v2, '2.1.0', 200, 0.6, NOW + 5 * 3_600_000),
    ];
    const kinds = all.flatMap((d) => d.deltas.map((x) => x.kind));
    expect(kinds.filter((k) => k === 'drift-alarm')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'drift-clear')).toHaveLength(0);
    expect(store.drift('churn-prob')?.alarmed.has('2.1.0')).toBe(true);
  });

  it('does not alarm on the same distribution under a new version', () => {
    const store = createMemoryState();
    emit(store, policyAt('2.0.1', 'deny'), '2.0.1', 200, 0.5, NOW);
    const later = emit(store, policyAt('2.1.0', 'deny'), '2.1.0', 200, 0.5, NOW + 600_000);
    expect(later.every((d) => d.verdict.decision === 'deliver')).toBe(true);
    expect(later.flatMap((d) => d.deltas).some((d) => d.kind === 'drift-alarm')).toBe(false);
  });

  it('starts again when a reload changes what the monitor watches (no old baseline on new fields)', () => {
    const store = createMemoryState();
    const two = {
      ...monitor('alert'),
      fields: ['/probability', '/note'],
      fieldPaths: [['probability'], ['note']],
    };
    const v1 = testPolicy({ agents: policyAt('2.0.1', 'alert').agents, drift: [two] });
    emit(store, v1, '2.0.1', 200, 0.5, NOW);
    // The reload keeps the id but watches /note only: position 0 was /probability before.
    const one = { ...monitor('alert'), fields: ['/note'], fieldPaths: [['note']] };
    const v2 = testPolicy({ agents: policyAt('2.1.0', 'alert').agents, drift: [one] });
    const later = emit(store, v2, '2.1.0', 200, 0.5, NOW + 600_000);
    expect(later.flatMap((d) => d.deltas).some((d) => d.kind === 'drift-alarm')).toBe(false);
    // Only the new monitor's values are kept: one version, one field.
    expect(store.drift('churn-prob')?.versions.map((v) => [v.version, v.total.length])).toEqual([
      ['2.1.0', 1],
    ]);
    // Replaying the deltas (recovery, replay) gives the same state.
    const replayed = createMemoryState();
    emit(replayed, v1, '2.0.1', 200, 0.5, NOW);
    emit(replayed, v2, '2.1.0', 200, 0.5, NOW + 600_000);
    expect(JSON.stringify(replayed.contents())).toBe(JSON.stringify(store.contents()));
  });

  it('rebuilds the same state from its deltas (recovery) and from its contents (snapshots)', () => {
    const store = createMemoryState();
    const all = [
      ...emit(store, policyAt('2.0.1', 'alert'), '2.0.1', 120, 0.5, NOW),
      ...emit(store, policyAt('2.1.0', 'alert'), '2.1.0', 120, 0.7, NOW + 600_000),
    ];
    const replayed = createMemoryState();
    for (const d of all) replayed.apply(d.deltas);
    const restored = createMemoryState();
    restored.apply(JSON.parse(JSON.stringify(store.contents())));
    for (const s of [replayed, restored]) {
      expect(JSON.stringify(s.contents())).toBe(JSON.stringify(store.contents()));
    }
    expect(store.drift('churn-prob')?.alarmed.has('2.1.0')).toBe(true);
  });
});
