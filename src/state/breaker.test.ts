import { describe, expect, it } from 'vitest';
import { breakerOpenAt } from './breaker.js';
import type { BreakerState } from './types.js';

const NOW = 1_750_000_000_000;
const open: BreakerState = { state: 'open', action: 'freeze', openedAt: NOW - 10, by: 'credit-burst' };

describe('breakerOpenAt', () => {
  it.each([
    { name: 'no state is closed', state: undefined, open: false },
    { name: 'open without cooldown', state: open, open: true },
    { name: 'cooldown ahead', state: { ...open, closesAt: NOW + 1 }, open: true },
    { name: 'cooldown reached', state: { ...open, closesAt: NOW }, open: false },
    { name: 'cooldown passed', state: { ...open, closesAt: NOW - 1 }, open: false },
  ])('$name', ({ state, open: expected }) => {
    expect(breakerOpenAt(state, NOW)).toBe(expected);
  });
});
