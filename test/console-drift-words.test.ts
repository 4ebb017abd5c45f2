import { describe, expect, it } from 'vitest';
import type { DriftMonitor, DriftVersion } from '../console/src/api/drift-types.js';
import {
  binLabels,
  evaluationSentence,
  fieldsInOrder,
  headline,
  metricWord,
  monitorSentence,
  num,
} from '../console/src/drift/drift-words.js';

// The Drift view's words: pure functions, so a table each.
const field = (name: string, score: number, drifted: boolean) => ({
  type: 'budget.adjusted.v1',
  field: name,
  metric: 'psi',
  score,
  threshold: 0.2,
  drifted,
  baselineCount: 300,
  currentCount: 51,
});
const version = (over: Partial<DriftVersion>): DriftVersion => ({
  agent: 'optimizer',
  version: '2.1.0',
  baseline: '2.0.0',
  drifted: true,
  fields: [field('/line', 0, false), field('/deltaPct', 2.83014, true)],
  verdicts: { metric: 'verdicts', baseline: {}, current: {}, score: 8.95, threshold: 0.2, drifted: true },
  ...over,
});

describe('drift words', () => {
  it('leads with the drifted field, not with the verdict mix its freeze moved', () => {
    expect(headline(version({}))).toBe(
      'optimizer 2.1.0 drifted from 2.0.0 on /deltaPct: PSI 2.83, over 0.2 (also: verdict mix).',
    );
    expect(
      headline(version({ drifted: false, fields: [field('/line', 0, false)], verdicts: undefined })),
    ).toBe('optimizer 2.1.0 behaves like 2.0.0: no field drifted.');
    expect(headline(version({ baseline: undefined }))).toBe(
      'optimizer 2.1.0 has no earlier version to compare with.',
    );
  });

  it('names every metric the report gives', () => {
    expect(['psi', 'mean', 'category', 'structure'].map(metricWord)).toEqual([
      'PSI',
      'mean shift (σ)',
      'category PSI',
      'type-mix PSI',
    ]);
  });

  it('orders drifted fields first, highest score first', () => {
    const fields = [field('/a', 0.01, false), field('/b', 0.5, true), field('/c', 3, true)];
    expect(fieldsInOrder(fields).map((f) => f.field)).toEqual(['/c', '/b', '/a']);
  });

  it('labels bins by their edges, open ends as < and ≥, categories by name', () => {
    const edges: [number | null, number | null][] = [
      [null, -1.6],
      [-1.6, 0.000001],
      [0.000001, 2.24],
      [2.24, null],
    ];
    expect(binLabels({ edges, baseline: [], current: [] })).toEqual([
      '< -1.6',
      '-1.6 – 1.0e-6',
      '1.0e-6 – 2.24',
      '≥ 2.24',
    ]);
    expect(binLabels({ labels: ['absent', 'number'], baseline: [], current: [] })).toEqual([
      'absent',
      'number',
    ]);
    expect([num(2.83014), num(0.00666667), num(1300), num(undefined)]).toEqual([
      '2.83',
      '0.00667',
      '1300',
      '—',
    ]);
  });

  it('says a monitor’s rule and its evaluation in sentences', () => {
    const m: DriftMonitor = {
      id: 'optimizer-delta',
      agent: 'optimizer',
      type: 'budget.adjusted.v1',
      fields: ['/deltaPct'],
      action: 'freeze',
      threshold: 0.2,
      minSamples: 50,
      windowMs: 3_600_000,
      baselineRule: 'previous',
      version: '2.1.0',
      evaluation: {
        baseline: '2.0.0',
        score: 2.69,
        field: '/deltaPct',
        metric: 'psi',
        enough: true,
        over: true,
        fields: [],
      },
      alarmed: ['2.1.0'],
      breakerOpen: true,
      alarms: [],
    };
    expect(monitorSentence(m)).toBe(
      "Watches optimizer's budget.adjusted.v1 messages (/deltaPct) over the last 1 h, against the version before it; " +
        'when a score reaches 0.2 after at least 50 values it raises an alarm and freezes the agent (its output is held for a pilot).',
    );
    expect(evaluationSentence(m)).toBe(
      'optimizer 2.1.0 against 2.0.0: PSI 2.69 on /deltaPct, at or over 0.2.',
    );
    expect(evaluationSentence({ ...m, evaluation: { ...m.evaluation!, enough: false, over: false } })).toBe(
      'optimizer 2.1.0 against 2.0.0: too few values yet (PSI 2.69 on /deltaPct so far, 50 needed).',
    );
    expect(monitorSentence({ ...m, baselineRule: 'window:86400000', action: 'alert' })).toContain(
      'against all versions over the last 1 d; when a score reaches 0.2 after at least 50 values it raises an alarm.',
    );
    expect(evaluationSentence({ ...m, evaluation: null })).toBe(
      'optimizer 2.1.0 has no baseline yet: nothing to compare with.',
    );
  });
});
