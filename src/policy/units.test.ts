import { describe, expect, it } from 'vitest';
import { parseDuration, parseRate } from './units.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['10min', 600_000],
    ['1h', 3_600_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([['0s'], ['1.5h'], ['10'], ['h'], ['5 weeks'], ['-1s'], ['01s'], [3600], [null], ['1y']])(
    'rejects %j',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );
});

describe('parseRate', () => {
  it.each([
    ['5/s', 5, 1000],
    ['30/min', 30, 60_000],
    ['100/h', 100, 3_600_000],
    ['1000/d', 1000, 86_400_000],
  ])('%s', (text, count, perMs) => {
    expect(parseRate(text)).toEqual({ count, perMs });
  });

  it.each([['0/s'], ['30/m'], ['30 per min'], ['1.5/s'], ['/s'], [30], ['30/week']])('rejects %j', (text) => {
    expect(parseRate(text)).toBeUndefined();
  });
});
