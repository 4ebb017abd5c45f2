import { describe, expect, it } from 'vitest';
import { createMemoryState } from '../state/index.js';
import { createPartitionFold } from './recovery-fold.js';
import { DEFAULT_WINDOWS, decodeFold, encodeFold } from './snapshot-codec.js';

const NOW = 1_767_225_600_000;
const head = { partition: 0, seq: 7, hash: 'sha256:x', format: 'f', digest: 'sha256:y', bytes: 1 };

describe('snapshot codec: drift monitors', () => {
  it('carries a monitor state whole and reads it back', () => {
    const state = createMemoryState();
    for (let i = 0; i < 50; i++)
      state.apply([
        {
          kind: 'drift-sample',
          sample: {
            monitor: 'm',
            version: i < 25 ? '1' : '2',
            at: NOW + i,
            windowMs: 3_600_000,
            // Numbers near the float limit: sums that would overflow stay finite (clamped).
            values: [i % 2 === 0 ? 1.7e308 : i, 'x'],
          },
        },
      ]);
    const fold = createPartitionFold(0, state);
    fold.last.seq = 7;
    fold.last.hash = 'sha256:x';
    const text = encodeFold(fold, DEFAULT_WINDOWS);
    const again = createMemoryState();
    const decoded = decodeFold(text, head, DEFAULT_WINDOWS, again);
    expect(typeof decoded).not.toBe('string');
    expect(JSON.stringify(again.contents())).toBe(JSON.stringify(state.contents()));
  });

  it('refuses a monitor state it cannot read, leaving the state untouched', () => {
    const body = {
      partition: 0,
      seq: 7,
      hash: 'sha256:x',
      at: NOW,
      windows: DEFAULT_WINDOWS,
      state: [{ kind: 'drift-state', monitor: 'm', state: { versions: [{ version: '1' }], alarmed: [] } }],
      failures: [],
      pending: [],
    };
    const state = createMemoryState();
    expect(decodeFold(JSON.stringify(body), head, DEFAULT_WINDOWS, state)).toBe('its state is not deltas');
    expect(state.contents()).toEqual([]);
  });
});
