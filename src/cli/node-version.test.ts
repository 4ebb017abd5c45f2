import { describe, expect, it } from 'vitest';
import { nodeTooOld, OLDEST_NODE } from './node-version.js';

describe('nodeTooOld', () => {
  it.each([
    ['20.20.2', true],
    ['v20.20.2', true],
    ['22.12.0', true],
    ['22.17.9', true],
    [OLDEST_NODE, false],
    ['22.18.1', false],
    ['22.20.0', false],
    ['24.0.0', false],
    ['25.1.0', false],
    ['not-a-version', true],
  ])('%s → %s', (version, old) => {
    expect(nodeTooOld(version)).toBe(old);
  });
});
