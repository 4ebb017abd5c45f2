import { describe, expect, it } from 'vitest';
import { isUuid } from '../envelope/index.js';
import type { AgentSpec } from '../policy/index.js';
import { createEnvelopeFactory, systemRandom } from './envelopes.js';

const agent = { name: 'churn', version: '2.0.1' } as AgentSpec;

function factory(derivedChildIds: boolean, at: number) {
  return createEnvelopeFactory({
    mesh: 't',
    maxHops: () => 8,
    clock: () => at,
    random: systemRandom,
    derivedChildIds,
  });
}

describe('child ids', () => {
  const parent = factory(false, 1_800_000_000_000).root('api', { type: 'a.v1', subject: 's:1', data: {} });

  it('are derived from the parent, the agent and the place, in distributed mode: a handler run again emits the same ids', () => {
    // Another process, another clock: the same parent, agent and place give the same id.
    const first = factory(true, 1_800_000_000_500).child(parent, agent, 'b.v1', { n: 1 }, {}, 0);
    const again = factory(true, 1_800_000_099_000).child(parent, agent, 'b.v1', { n: 2 }, {}, 0);
    expect(again.id).toBe(first.id);
    expect(isUuid(first.id)).toBe(true);
    // Version 7, with the parent's time: ids still sort with their parents.
    expect(first.id[14]).toBe('7');
    expect(first.id.slice(0, 13)).toBe(parent.id.slice(0, 13));
    const next = factory(true, 1_800_000_000_500).child(parent, agent, 'b.v1', { n: 1 }, {}, 1);
    const other = factory(true, 1_800_000_000_500).child(
      parent,
      { ...agent, name: 'sentiment' },
      'b.v1',
      {},
      {},
      0,
    );
    expect(new Set([first.id, next.id, other.id]).size).toBe(3);
  });

  it('are derived the same way under a parent whose id is not a UUIDv7 (an id from outside)', () => {
    const outside = { ...parent, id: '3f2b8c1e-9d4a-4e6f-8a7b-1c2d3e4f5a6b' };
    const first = factory(true, 1_800_000_000_500).child(outside, agent, 'b.v1', {}, {}, 0);
    const again = factory(true, 1_800_000_777_000).child(outside, agent, 'b.v1', {}, {}, 0);
    expect(again.id).toBe(first.id);
  });

  it('are random in embedded mode, and a remote agent’s own id is kept either way', () => {
    const a = factory(false, 1_800_000_000_500).child(parent, agent, 'b.v1', {}, {}, 0);
    const b = factory(false, 1_800_000_000_500).child(parent, agent, 'b.v1', {}, {}, 0);
    expect(a.id).not.toBe(b.id);
    const own = '0190f2a0-0000-7000-8000-0000000000d1';
    expect(factory(true, 0).child(parent, agent, 'b.v1', {}, { id: own }, 0).id).toBe(own);
  });
});
