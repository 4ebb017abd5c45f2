import { describe, expect, it } from 'vitest';
import type { WindowState } from './types.js';
import { slotMsFor, WINDOW_SLOTS, windowAdd, windowIsNeutral, windowSum } from './window.js';

const HOUR = 3_600_000;
const W = 9 * HOUR; // slots of exactly one hour
const T0 = 1_000 * HOUR; // at a slot boundary

function addAll(events: readonly (readonly [number, number])[]): WindowState | undefined {
  let state: WindowState | undefined;
  for (const [at, amount] of events) state = windowAdd(state, at, W, amount);
  return state;
}

describe('sliding window', () => {
  it('splits a window into slots so that an event lives at least one window', () => {
    expect(slotMsFor(W)).toBe(HOUR);
    expect(slotMsFor(1)).toBe(1);
    expect(WINDOW_SLOTS).toBe(10);
  });

  it.each([
    { name: 'empty', events: [], at: T0, sum: 0 },
    { name: 'one event', events: [[T0, 5]], at: T0, sum: 5 },
    {
      name: 'same slot adds up',
      events: [
        [T0, 5],
        [T0 + 10, 7],
      ],
      at: T0 + 20,
      sum: 12,
    },
    { name: 'still counted one window later', events: [[T0 + HOUR - 1, 5]], at: T0 + HOUR - 1 + W, sum: 5 },
    { name: 'gone after a window plus a slot', events: [[T0, 5]], at: T0 + W + HOUR, sum: 0 },
    {
      name: 'old slots expire one by one',
      events: [
        [T0, 1],
        [T0 + 3 * HOUR, 2],
      ],
      at: T0 + 10 * HOUR,
      sum: 2,
    },
    {
      name: 'a clock step back still counts',
      events: [
        [T0 + 2 * HOUR, 1],
        [T0, 2],
      ],
      at: T0 + 2 * HOUR,
      sum: 3,
    },
  ] as const)('$name: sum $sum', ({ events, at, sum }) => {
    expect(windowSum(addAll(events), at)).toBe(sum);
  });

  it('keeps only live slots, from the oldest non-zero to the newest', () => {
    expect(addAll([[T0, 5]])).toEqual({ slotMs: HOUR, start: 1000, slots: [5] });
    expect(
      addAll([
        [T0, 5],
        [T0 + 2 * HOUR, 1],
      ]),
    ).toEqual({ slotMs: HOUR, start: 1000, slots: [5, 0, 1] });
    expect(
      addAll([
        [T0, 5],
        [T0 + 12 * HOUR, 1],
      ]),
    ).toEqual({ slotMs: HOUR, start: 1012, slots: [1] });
  });

  it('never holds more than WINDOW_SLOTS slots', () => {
    const events = Array.from({ length: 40 }, (_, i) => [T0 + i * HOUR, 1] as const);
    const state = addAll(events)!;
    expect(state.slots.length).toBe(WINDOW_SLOTS);
    expect(windowSum(state, T0 + 39 * HOUR)).toBe(WINDOW_SLOTS);
  });

  it('restarts on a new window width, carrying the live sum', () => {
    const state = windowAdd(addAll([[T0, 5]]), T0, 2 * W, 1);
    expect(state.slotMs).toBe(2 * HOUR);
    expect(windowSum(state, T0)).toBe(6);
  });

  it.each([
    { name: 'no state', state: undefined, at: T0, neutral: true },
    { name: 'live', state: addAll([[T0, 1]]), at: T0 + W, neutral: false },
    { name: 'expired', state: addAll([[T0, 1]]), at: T0 + W + HOUR, neutral: true },
    { name: 'only zeros', state: addAll([[T0, 0]]), at: T0, neutral: true },
  ])('$name is neutral: $neutral', ({ state, at, neutral }) => {
    expect(windowIsNeutral(state, at)).toBe(neutral);
  });
});
