import { describe, expect, it } from 'vitest';
import { breakerOpenAt, countTowardBreaker, openedBreaker } from './breaker.js';
import { breakerCountKey, breakerKey } from './keys.js';
import { createMemoryState } from './memory.js';
import type { BreakerState } from './types.js';
import { windowSum } from './window.js';

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

describe('countTowardBreaker', () => {
  const MIN = 60_000;
  const trigger = { id: 'deploys', over: 2, windowMs: 10 * MIN, action: 'freeze' as const };
  const countKey = breakerCountKey('deploys', 'service:api');
  const key = breakerKey('deploys', 'service:api');

  /** A store holding `earlier` events at the given times, and the breaker state given. */
  const stateWith = (earlier: readonly number[], breaker?: BreakerState) => {
    const state = createMemoryState();
    for (const at of earlier)
      state.apply(countTowardBreaker(state, { ...trigger, over: 99 }, 'service:api', at).deltas);
    if (breaker !== undefined) state.apply([{ kind: 'breaker-open', key, state: breaker }]);
    return state;
  };

  it.each([
    { name: 'first event', earlier: [], count: 1, opened: false },
    { name: 'at the limit', earlier: [NOW - MIN], count: 2, opened: false },
    { name: 'one over opens', earlier: [NOW - 2 * MIN, NOW - MIN], count: 3, opened: true },
    { name: 'old events fall out', earlier: [NOW - 12 * MIN, NOW - 11 * MIN], count: 1, opened: false },
    { name: 'open stays open', earlier: [NOW - 2 * MIN, NOW - MIN], breaker: open, count: 3, opened: false },
    {
      // Closed first, so that on-call hears it close, then open again.
      name: 'cooled down, closed and opened again',
      earlier: [NOW - 2 * MIN, NOW - MIN],
      breaker: { ...open, closesAt: NOW - 1 },
      count: 3,
      opened: true,
      kinds: ['window', 'breaker-close', 'breaker-open'],
    },
  ])('$name', ({ earlier, breaker, count, opened, kinds }) => {
    const state = stateWith(earlier, breaker);
    const result = countTowardBreaker(state, trigger, 'service:api', NOW);
    expect({ count: result.count, opened: result.opened }).toEqual({ count, opened });
    expect(result.deltas.map((d) => d.kind)).toEqual(
      kinds ?? (opened ? ['window', 'breaker-open'] : ['window']),
    );
    expect(result.deltas[0]).toMatchObject({ key: countKey });
    state.apply(result.deltas);
    expect(windowSum(state.window(countKey), NOW)).toBe(count);
  });

  it.each([
    { name: 'without cooldown', cooldownMs: undefined, closesAt: undefined },
    { name: 'with cooldown', cooldownMs: 30 * MIN, closesAt: NOW + 30 * MIN },
  ])('opens $name', ({ cooldownMs }) => {
    const rule = cooldownMs === undefined ? { ...trigger, over: 0 } : { ...trigger, over: 0, cooldownMs };
    const result = countTowardBreaker(createMemoryState(), rule, 'service:api', NOW);
    const expected: BreakerState =
      cooldownMs === undefined
        ? { state: 'open', action: 'freeze', openedAt: NOW, by: 'deploys' }
        : { state: 'open', action: 'freeze', openedAt: NOW, closesAt: NOW + cooldownMs, by: 'deploys' };
    expect(result.deltas[1]).toEqual({ kind: 'breaker-open', key, state: expected });
    expect(openedBreaker(rule, NOW)).toEqual(expected);
  });
});
