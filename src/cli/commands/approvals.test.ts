import { describe, expect, it } from 'vitest';
import { stepLimitWords } from './approvals.js';

describe('stepLimitWords: what approving a step at the loop guard’s limit leads to', () => {
  it.each([
    [
      8,
      false,
      /the last its step limit \(8\) allows: .* held by the loop guard, which freezes account:1 again/,
    ],
    [9, false, /past its step limit \(8\): .* held by the loop guard, which freezes account:1 again/],
    [
      8,
      true,
      /the last its step limit \(8\) allows: .* refused by the loop guard, which ends the case there$/,
    ],
    [9, true, /past its step limit \(8\): .* refused by the loop guard/],
  ])('step %d of 8, deny %s', (hop, deny, words) => {
    expect(stepLimitWords({ hop, maxHops: 8, subject: 'account:1', deny })).toMatch(words);
  });
});
