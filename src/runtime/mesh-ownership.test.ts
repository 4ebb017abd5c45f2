import { describe, expect, it } from 'vitest';
import { isLapsed } from './mesh-ownership.js';

describe('isLapsed: a take-over an operator hears of at warn', () => {
  it.each<[string, boolean | undefined, number, boolean]>([
    ['a lapsed lease with work to rebuild (its owner died)', false, 35, true],
    ['a lapsed lease, nothing after the newest snapshot but its own partition.owned', false, 1, false],
    ['a released lease, however much to rebuild (a late hand-off snapshot)', true, 35, false],
    ['a lease whose state could not be read', undefined, 35, false],
  ])('%s', (_, handedOff, folded, lapsed) => {
    expect(isLapsed({ resumed: 0, folded }, handedOff)).toBe(lapsed);
  });
});
