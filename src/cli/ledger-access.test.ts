import { describe, expect, it } from 'vitest';
import { sayProgress, sayRecoveryProgress } from './ledger-access.js';

describe('sayProgress', () => {
  it('says how far a long read has come at most every two seconds, and nothing before the first two', () => {
    const notes: string[] = [];
    let now = 0;
    const progress = sayProgress({ note: (text) => notes.push(text) }, 'verified', 1_000_000, () => now);
    for (const [at, verified] of [
      [500, 65_536],
      [1_999, 131_072],
      [2_000, 196_608],
      [3_000, 262_144],
      [4_100, 327_680],
    ] as const) {
      now = at;
      progress(verified);
    }
    expect(notes).toEqual([
      'verified 196,608 of 1,000,000 entries (19 %) …',
      'verified 327,680 of 1,000,000 entries (32 %) …',
    ]);
  });
});

describe('sayRecoveryProgress', () => {
  it('announces the read of a large ledger before it begins, and not of a small one', () => {
    for (const [total, announced] of [
      [99_999, 0],
      [100_000, 1],
    ] as const) {
      const notes: string[] = [];
      sayRecoveryProgress({ note: (text) => notes.push(text) })({ read: 0, total });
      expect(notes).toHaveLength(announced);
    }
  });
});
