import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DRIFT_VERSIONS,
  type DriftSpec,
  type DriftState,
  driftAdd,
  driftDigest,
  driftStateFromJson,
  driftStateToJson,
  evaluateDrift,
  newDriftState,
  RING_SLICES,
  TRAILING_SLICES,
} from './drift-monitor.js';
import { categoryPsi, compareField, meanShift, numericPsi, psi, structurePsi } from './drift-score.js';
import {
  addValue,
  bucketEdges,
  bucketOf,
  CATEGORY_CAP,
  type DriftValue,
  driftValueAt,
  type FieldSketch,
  mean,
  mergeInto,
  newFieldSketch,
  quantile,
  sketchFromJson,
  sketchToJson,
  TOP_BUCKET,
} from './drift-sketch.js';

const NOW = 1_767_225_600_000;
const HOUR = 3_600_000;

function sketchOf(values: readonly DriftValue[]): FieldSketch {
  const s = newFieldSketch();
  for (const v of values) addValue(s, v);
  return s;
}

/** A deterministic spread of n values around `center` (no randomness in unit tests). */
function spread(n: number, center: number, width = 2): number[] {
  return Array.from({ length: n }, (_, i) => center + width * (((i * 7919) % 1000) / 1000 - 0.5));
}

const values = fc.array(
  fc.oneof(
    fc.double({ min: -1e10, max: 1e10, noNaN: true }),
    fc.integer({ min: -1000, max: 1000 }),
    fc.constantFrom('a', 'b', 'c', 'long text'),
    fc.boolean(),
    fc.constant(null),
    fc.constant({ t: 'absent' } as const),
  ),
  { maxLength: 200 },
);

describe('drift sketch', () => {
  it.each([
    [0, 0],
    [1e-10, 0],
    [1, 1153],
    [-1, -1153],
    [1e20, TOP_BUCKET],
  ])('bucketOf(%d) = %d', (v, b) => {
    expect(bucketOf(v)).toBe(b);
  });

  it('puts every number inside its bucket edges', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e8, max: 1e8, noNaN: true }), (v) => {
        const b = bucketOf(v);
        const [lo, hi] = bucketEdges(Math.abs(b));
        const a = Math.abs(v);
        return b === 0 || (Math.sign(b) === Math.sign(v) && a >= lo * (1 - 1e-9) && a <= hi * (1 + 1e-9));
      }),
    );
  });

  it('keeps mean and quantiles', () => {
    const s = sketchOf(spread(1000, 1));
    expect(mean(s)).toBeCloseTo(1, 2);
    expect(quantile(s, 0.5)).toBeGreaterThan(0.85);
    expect(quantile(s, 0.5)).toBeLessThan(1.15);
  });

  it('stays bounded whatever it is fed', () => {
    const s = newFieldSketch();
    for (let i = 0; i < 20_000; i++) {
      addValue(s, (i - 10_000) * 1.37e3);
      addValue(s, `cat-${i}`);
    }
    expect(s.buckets.size).toBeLessThanOrEqual(2 * TOP_BUCKET + 1);
    expect(s.cats.size).toBe(CATEGORY_CAP);
    expect(JSON.stringify(sketchToJson(s)).length).toBeLessThan(16_000);
  });

  it('merges like adding in one go, in any order (below the category cap)', () => {
    fc.assert(
      fc.property(values, values, (a, b) => {
        const whole = sketchOf([...a, ...b]);
        const ab = sketchOf(a);
        mergeInto(ab, sketchOf(b));
        const ba = sketchOf(b);
        mergeInto(ba, sketchOf(a));
        expect(sketchToJson(ab)).toEqual(sketchToJson(ba));
        // Sums of floats depend on the order they were added in: equal up to rounding.
        const merged = sketchToJson(ab);
        const once = sketchToJson(whole);
        expect({ ...merged, sum: 0, sq: 0 }).toEqual({ ...once, sum: 0, sq: 0 });
        for (const k of ['sum', 'sq'] as const)
          expect(Math.abs((merged[k] ?? 0) - (once[k] ?? 0))).toBeLessThanOrEqual(
            1e-9 * Math.max(1, Math.abs(once[k] ?? 0)),
          );
      }),
    );
  });

  it('round-trips through JSON', () => {
    fc.assert(
      fc.property(values, (a) => {
        const s = sketchOf(a);
        expect(sketchToJson(sketchFromJson(sketchToJson(s)))).toEqual(sketchToJson(s));
      }),
    );
  });

  it.each([
    [{ a: { b: 3 } }, ['a', 'b'], 3],
    [{ a: [1, 2] }, ['a', '1'], 2],
    [{ a: 1 }, ['b'], { t: 'absent' }],
    [{ a: { b: 1 } }, ['a'], { t: 'object' }],
    [{ a: 'x' }, ['a', 'b'], { t: 'absent' }],
  ])('reads %j at %j', (data, path, want) => {
    expect(driftValueAt(data, path)).toEqual(want);
  });
});

describe('drift scores', () => {
  it('scores identical distributions 0', () => {
    fc.assert(
      fc.property(values, (a) => {
        const s = sketchOf(a);
        const t = sketchOf(a);
        expect(numericPsi(s, t)).toBe(0);
        expect(categoryPsi(s, t)).toBe(0);
        expect(structurePsi(s, t)).toBe(0);
        expect(compareField(s, t).score).toBe(0);
      }),
    );
  });

  it('scores a shift of one unit on values spread over two past the threshold', () => {
    const base = sketchOf(spread(500, 1));
    const cur = sketchOf(spread(480, 2));
    const f = compareField(base, cur);
    expect(f.metric).toBe('psi');
    expect(f.score).toBeGreaterThan(0.2);
    expect(f.currentMean! - f.baselineMean!).toBeCloseTo(1, 2);
  });

  it('takes off what two samples of one distribution score by chance', () => {
    expect(psi([5, 0, 0], [3, 0, 0])).toBe(0);
    // Two different draws of one uniform distribution, 200 values each.
    const draw = (seed: number, n: number) => {
      let x = seed;
      return Array.from({ length: n }, () => {
        x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
        return 1 + 2 * (x / 2 ** 31 - 0.5);
      });
    };
    expect(compareField(sketchOf(draw(1, 200)), sketchOf(draw(2, 200))).score).toBeLessThan(0.1);
  });

  it('scores category share shifts and presence', () => {
    const a = sketchOf([...Array(100).fill('ok'), ...Array(100).fill('late')]);
    const b = sketchOf([...Array(180).fill('ok'), ...Array(20).fill('late')]);
    expect(compareField(a, b).metric).toBe('category');
    expect(compareField(a, b).score).toBeGreaterThan(0.2);
    const present = sketchOf(Array(200).fill(1));
    const missing = sketchOf([...Array(100).fill(1), ...Array(100).fill({ t: 'absent' })]);
    expect(structurePsi(present, missing)).toBeGreaterThan(0.2);
  });

  it('compares identifiers by structure only', () => {
    const ids = (from: number) => sketchOf(Array.from({ length: 100 }, (_, i) => `id-${from + i}`));
    expect(compareField(ids(0), ids(1000))).toMatchObject({ metric: 'structure', score: 0 });
  });

  it('tells apart shifts of a few percent, at any magnitude', () => {
    const lin = (n: number, a: number, b: number) =>
      Array.from({ length: n }, (_, i) => a + (b - a) * (((i * 7919) % 1000) / 999));
    const near = compareField(sketchOf(lin(300, 100, 102)), sketchOf(lin(300, 105, 107)));
    expect(near.score).toBeGreaterThan(5);
    const huge = compareField(sketchOf(lin(300, 1e9, 1e10)), sketchOf(lin(300, 5e9, 5e10)));
    expect(huge.score).toBeGreaterThan(1);
    expect(compareField(sketchOf(lin(300, 100, 102)), sketchOf(lin(300, 100, 102))).score).toBe(0);
  });

  it('keeps its sums finite whatever it is fed, so its JSON always reads back', () => {
    const s = sketchOf(Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? 1e308 : -1.7e308)));
    expect(Number.isFinite(s.sum) && Number.isFinite(s.sq)).toBe(true);
    expect(Number.isFinite(mean(s))).toBe(true);
    const j = JSON.parse(JSON.stringify(sketchToJson(s)));
    expect([j.sum, j.sq, j.min, j.max]).toEqual([s.sum, s.sq, -1.7e308, 1e308]);
    expect(compareField(s, s).score).toBe(0);
  });

  it('samples a string cut to what a category compares, never splitting a surrogate pair', () => {
    expect(driftValueAt({ a: 'x'.repeat(10_000) }, ['a'])).toBe('x'.repeat(64));
    const emoji = `${'x'.repeat(63)}😀tail`;
    expect(driftValueAt({ a: emoji }, ['a'])).toBe('x'.repeat(63));
    expect(driftValueAt({ a: 'short' }, ['a'])).toBe('short');
  });

  it('reports quantiles within the values seen', () => {
    const s = sketchOf(Array.from({ length: 300 }, (_, i) => 100 + (i % 3)));
    for (const q of [0, 0.5, 0.9, 1]) {
      expect(quantile(s, q)).toBeGreaterThanOrEqual(100);
      expect(quantile(s, q)).toBeLessThanOrEqual(102);
    }
    expect(quantile(sketchOf([7, 7, 7]), 0.5)).toBe(7);
  });

  it('scores a mean shift in baseline standard deviations, less chance', () => {
    // Same bins, but a few large values pull the mean: PSI barely moves, the mean does.
    const base = spread(1000, 10, 2);
    const cur = spread(1000, 10, 2).map((x, i) => (i % 50 === 0 ? x + 200 : x));
    const f = compareField(sketchOf(base), sketchOf(cur));
    expect(f.metric).toBe('mean');
    expect(f.score).toBeGreaterThan(1);
    expect(meanShift(sketchOf(base), sketchOf(spread(1000, 10.01, 2)))).toBe(0);
  });

  it('is never negative', () => {
    fc.assert(fc.property(values, values, (a, b) => compareField(sketchOf(a), sketchOf(b)).score >= 0));
  });
});

const spec: DriftSpec = {
  id: 'm',
  fields: ['/x'],
  windowMs: HOUR,
  baseline: { kind: 'previous' },
  threshold: 0.2,
  minSamples: 100,
};

/** Adds xs as samples of `version`, one every `step` ms from `at`. */
function feed(
  s: DriftState,
  version: string,
  xs: readonly number[],
  at: number,
  step = 1,
  trailingMs?: number,
) {
  for (let i = 0; i < xs.length; i++) {
    const sample = {
      monitor: 'm',
      digest: driftDigest(spec),
      version,
      at: at + i * step,
      windowMs: HOUR,
      values: [xs[i]!],
    };
    driftAdd(s, trailingMs === undefined ? sample : { ...sample, trailingMs });
  }
}

describe('drift monitor state', () => {
  it('compares a version with the previous one, only with enough samples', () => {
    const s = newDriftState();
    feed(s, '1', spread(300, 1), NOW);
    expect(evaluateDrift(s, spec, '1', NOW + 400)).toBeUndefined();
    const later = NOW + 2 * HOUR;
    feed(s, '2', spread(50, 2), later);
    const few = evaluateDrift(s, spec, '2', later + 60);
    expect(few?.baseline).toBe('1');
    expect(few?.over).toBe(false);
    feed(s, '2', spread(100, 2), later + 100);
    const many = evaluateDrift(s, spec, '2', later + 300);
    expect(many?.over).toBe(true);
    expect(many?.fieldScore.metric).toBe('psi');
    // The current window forgets: two hours on, nothing is current.
    expect(evaluateDrift(s, spec, '2', later + 3 * HOUR)?.fieldScore.currentCount).toBe(0);
  });

  it('does not see drift between two versions of one distribution', () => {
    const s = newDriftState();
    feed(s, '1', spread(400, 1), NOW);
    feed(s, '2', spread(400, 1, 2.01), NOW + 1000);
    expect(evaluateDrift(s, spec, '2', NOW + 2000)?.over).toBe(false);
  });

  it('compares with a trailing window', () => {
    const s = newDriftState();
    const trailing: DriftSpec = { ...spec, baseline: { kind: 'window', windowMs: 24 * HOUR } };
    for (let h = 0; h < 10; h++) feed(s, '1', spread(60, 1), NOW + h * HOUR, 1000, 24 * HOUR);
    const e = evaluateDrift(s, trailing, '1', NOW + 9 * HOUR + 60_000);
    expect(e?.fieldScore.baselineCount).toBeGreaterThan(300);
    expect(e?.over).toBe(false);
  });

  it('stays bounded over days of traffic, versions and a trailing window', () => {
    const s = newDriftState();
    for (let i = 0; i < 20_000; i++)
      driftAdd(s, {
        monitor: 'm',
        version: String(Math.floor(i / 2000)),
        at: NOW + i * 60_000,
        windowMs: HOUR,
        trailingMs: 24 * HOUR,
        values: [Math.sin(i) * 1e4, `c${i % 50}`],
      });
    expect(s.versions.length).toBe(DRIFT_VERSIONS);
    for (const v of s.versions) expect(v.ring.slices.length).toBeLessThanOrEqual(RING_SLICES);
    expect(s.trailing!.slices.length).toBeLessThanOrEqual(TRAILING_SLICES + 2);
    // Two fields, 4 versions, 6 + 1 sketches each, plus the trailing ring: about 41 KB here.
    expect(JSON.stringify(driftStateToJson(s)).length).toBeLessThan(100_000);
  });

  it('keeps a bounded number of versions and rebuilds from JSON', () => {
    const s = newDriftState();
    for (let v = 0; v < 10; v++)
      driftAdd(s, { monitor: 'm', version: String(v), at: NOW + v, windowMs: HOUR, keep: '0', values: [v] });
    expect(s.versions.map((v) => v.version)).toEqual(['0', '7', '8', '9']);
    const again = driftStateFromJson(JSON.parse(JSON.stringify(driftStateToJson(s))));
    expect(driftStateToJson(again)).toEqual(driftStateToJson(s));
  });
});

describe('scores against chance (seeded samples of a normal distribution)', () => {
  // A fixed generator: the same samples every run, so the counts below are exact, not flaky.
  const samples = (seed: number) => {
    let s = seed;
    const uniform = () => {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      return (s + 1) / 0x80000000;
    };
    return (shiftSd: number) =>
      1 + 0.5 * (Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()) + shiftSd);
  };
  const drifted = (n: number, shiftSd: number, pairs: number) => {
    const draw = samples(42 + n);
    let count = 0;
    for (let t = 0; t < pairs; t++) {
      const base = newFieldSketch();
      const cur = newFieldSketch();
      for (let i = 0; i < n; i++) addValue(base, draw(0));
      for (let i = 0; i < n; i++) addValue(cur, draw(shiftSd));
      if (compareField(base, cur).score >= 0.2) count++;
    }
    return count;
  };

  it.each([30, 50, 100, 300])('two samples of one distribution, %i values a side, rarely drift', (n) => {
    expect(drifted(n, 0, 300)).toBeLessThanOrEqual(6);
  });

  it('a mean moved by one standard deviation drifts, from 50 values a side', () => {
    expect(drifted(50, 1, 200)).toBeGreaterThanOrEqual(180);
    expect(drifted(100, 1, 200)).toBeGreaterThanOrEqual(195);
  });
});
