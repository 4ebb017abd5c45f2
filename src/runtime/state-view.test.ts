import { describe, expect, it } from 'vitest';
import {
  createMemoryState,
  type DriftSpec,
  driftDigest,
  evaluateDrift,
  type StateStore,
} from '../state/index.js';
import { viewOverPartitions } from './state-view.js';

const NOW = 1_767_225_600_000;
const HOUR = 3_600_000;
const spec: DriftSpec = {
  id: 'm',
  agent: 'a',
  type: 't.v1',
  fields: ['/x'],
  windowMs: HOUR,
  baseline: { kind: 'previous' },
  threshold: 0.2,
  minSamples: 100,
};

/** n values of `version` around `center` into `store`, one a second from `at`. */
function feed(
  store: StateStore,
  version: string,
  n: number,
  center: number,
  at: number,
  digest = driftDigest(spec),
) {
  for (let i = 0; i < n; i++)
    store.apply([
      {
        kind: 'drift-sample',
        sample: {
          at: at + i * 1000,
          digest,
          monitor: 'm',
          values: [center + (i % 10) / 10],
          version,
          windowMs: HOUR,
        },
      },
    ]);
}

describe('the drift state over partitions', () => {
  it('merges every partition’s share version by version, and unions their alarms', () => {
    const [p0, p1] = [createMemoryState(), createMemoryState()];
    feed(p0, '1', 60, 1, NOW);
    feed(p1, '1', 60, 1, NOW);
    feed(p0, '2', 60, 3, NOW + HOUR / 2);
    feed(p1, '2', 60, 3, NOW + HOUR / 2);
    p1.apply([
      {
        kind: 'drift-alarm',
        alarm: {
          action: 'alert',
          agent: 'a@2',
          at: NOW,
          baseline: '1',
          baselineCount: 60,
          current: '2',
          currentCount: 60,
          field: '/x',
          metric: 'psi',
          monitor: 'm',
          score: 9,
          threshold: 0.2,
          type: 't.v1',
        },
      },
    ]);
    const view = viewOverPartitions([p0, p1]);
    const merged = view.drift('m', driftDigest(spec))!;
    expect(merged.versions.map((v) => [v.version, v.total[0]!.n])).toEqual([
      ['1', 120],
      ['2', 120],
    ]);
    expect([...merged.alarmed]).toEqual(['2']);
    // Neither partition alone has minSamples (100) on each side; together they do.
    const ev = evaluateDrift(merged, spec, '2', NOW + HOUR / 2 + 70_000);
    expect(ev).toMatchObject({ enough: true, over: true, baseline: '1' });
    expect(evaluateDrift(p0.drift('m'), spec, '2', NOW + HOUR / 2 + 70_000)?.enough).toBe(false);
    // The partitions' own states are not changed by the view.
    expect(p0.drift('m')!.versions[0]!.total[0]!.n).toBe(60);
  });

  it('leaves out a partition whose state is of another digest (not sampled since a reload)', () => {
    const [p0, p1] = [createMemoryState(), createMemoryState()];
    feed(p0, '1', 50, 1, NOW);
    feed(p1, '1', 50, 1, NOW, 'old');
    expect(viewOverPartitions([p0, p1]).drift('m', driftDigest(spec))!.versions[0]!.total[0]!.n).toBe(50);
  });
});
