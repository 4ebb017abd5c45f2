import { describe, expect, it } from 'vitest';
import { duplicateKeyAt } from '../src/envelope/index.js';
import { openClusterKit, waitFor } from './cluster-kit.js';

describe('a node restarted under its id soon after a kill', () => {
  it('says once at warn that it waits for its former membership, then takes its partitions back', async () => {
    await using kit = await openClusterKit({ partitions: 4 });
    await kit.start('a');
    await kit.kill('a');
    const restartedAt = Date.now();
    await kit.start('a');
    const lines = kit
      .node('a')
      .log()
      .split('\n')
      .filter((line) => line.includes('former membership'));
    expect(lines).toHaveLength(1);
    // One `node` key, from the node's log: a second one in the line confused an operator's tools.
    expect(duplicateKeyAt(lines[0]!)).toBeUndefined();
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, node: 'a', ms: expect.any(Number) });
    await waitFor('a owning all 4 partitions again', async () => {
      const taken = kit
        .node('a')
        .records()
        .filter((r) => r.time >= restartedAt && r.msg.startsWith('partition taken over'));
      return new Set(taken.map((r) => r.partition)).size === 4;
    });
  });
});
