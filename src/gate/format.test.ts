import { describe, expect, it } from 'vitest';
import { formatDuration, moreProblems } from './format.js';

describe('moreProblems', () => {
  it.each([
    { count: 0, text: '' },
    { count: 1, text: '' },
    { count: 2, text: ' (and 1 more problem)' },
    { count: 3, text: ' (and 2 more problems)' },
  ])('$count issues → "$text"', ({ count, text }) => {
    expect(moreProblems(count)).toBe(text);
  });
});

describe('formatDuration', () => {
  it.each([
    { ms: 86_400_000, text: '24h' },
    { ms: 90_000, text: '90s' },
    { ms: 70_000, text: '70s' },
    { ms: 120_000, text: '2min' },
    { ms: 1500, text: '1.5s' },
    { ms: 250, text: '250ms' },
  ])('$ms → $text', ({ ms, text }) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
