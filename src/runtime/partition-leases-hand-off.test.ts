import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../envelope/index.js';
import { leaseBucketOf, partitionKey } from './lease-names.js';
import { createLeaseLog, meshesDroppedAfterEach, NATS, SHORT_LEASES, waitFor } from './lease-test-kit.js';
import { joinPartitionLeases } from './partition-leases.js';
import { answerDelayingProxy, answerLosingProxy, cuttableProxy } from './tcp-cut-test-kit.js';

// A hand-off cut short: the lease or the connection lost while the node drains.
const TIMES = SHORT_LEASES;
const newMesh = meshesDroppedAfterEach();

describe('partition leases on NATS KV, a hand-off cut short', () => {
  it('tells a node whose lease lapses while it hands off (a second onLose, expired)', async () => {
    const mesh = newMesh();
    const log = createLeaseLog();
    await using proxy = await cuttableProxy(4222);
    const common = { mesh, partitions: 4, ...TIMES };
    await using a = await joinPartitionLeases({ ...common, servers: NATS, node: 'a', ...log.callbacks('a') });
    const cutConnection = await connect({
      servers: `nats://127.0.0.1:${proxy.port}`,
      reconnectTimeWait: 100,
    });
    try {
      // b's drain takes far longer than a lease: its hand-off outlives the lease once cut off.
      const b = await joinPartitionLeases({
        ...common,
        connection: cutConnection,
        node: 'b',
        ...log.callbacks('b', 8_000),
      });
      await waitFor('a split', () => a.owned().length === 2 && b.owned().length === 2);
      const closing = b.close();
      proxy.cut();
      const reasons = () =>
        log.events.filter((e) => e.node === 'b' && e.kind === 'lose').map((e) => e.reason);
      await waitFor('b told its leases lapsed', () => reasons().length === 2, 10_000);
      expect(reasons()).toEqual(['expired', 'expired']);
      await waitFor('a to take over', () => a.owned().length === 4, 10_000);
      // Replayed in order: a took each partition only after b was told to stop.
      expect(log.overlaps()).toEqual([]);
      await closing;
      expect(reasons()).toEqual(['expired', 'expired', 'closed', 'closed']);
    } finally {
      await cutConnection.close();
    }
  });

  it('tells a node whose connection closes for good while it hands off (a second onLose, connection)', async () => {
    const mesh = newMesh();
    const log = createLeaseLog();
    const nc = await connect({ servers: NATS });
    const common = { mesh, partitions: 2, ...TIMES };
    // a's drain takes far longer than the test: its hand-off is still pending when the connection goes.
    const a = await joinPartitionLeases({
      ...common,
      connection: nc,
      node: 'a',
      ...log.callbacks('a', 8_000),
    });
    await waitFor('a to own all', () => a.owned().length === 2);
    await using b = await joinPartitionLeases({ ...common, servers: NATS, node: 'b', ...log.callbacks('b') });
    await waitFor('a handing p1 off', () => a.owned().length === 1);
    await nc.close();
    const reasons = () => log.events.filter((e) => e.node === 'a' && e.kind === 'lose').map((e) => e.reason);
    await waitFor('a told its connection closed', () => reasons().length === 2, 5_000);
    expect(reasons()).toEqual(['connection', 'connection']);
    expect(isMeshwardenError(await a.closed) ? 'ended' : 'not ended').toBe('ended');
    await waitFor('b to own all', () => b.owned().length === 2, 15_000);
    expect(log.overlaps()).toEqual([]);
  });

  /**
   * b owns p0 through a proxy at `port`, and hands it off (close) once `drained` holds; then a joins
   * straight to NATS and takes p0. What a's take says of it, and whether any two owned p0 at once.
   */
  async function handOffThrough(mesh: string, port: number, drained: [what: string, check: () => boolean]) {
    const log = createLeaseLog();
    const through = await connect({ servers: `nats://127.0.0.1:${port}` });
    const common = { mesh, partitions: 1, ...TIMES };
    try {
      const callbacks = log.callbacks('b');
      const b = await joinPartitionLeases({
        ...common,
        connection: through,
        node: 'b',
        onAcquire: callbacks.onAcquire,
        onError: () => {}, // a renewal whose answer was lost is reported (MW_RUNTIME_LEASE_RENEW)
        onLose: async (partition, reason) => {
          await waitFor(...drained);
          await callbacks.onLose(partition, reason);
        },
      });
      await waitFor('b to own p0', () => b.owned().length === 1);
      await b.close();
      await using a = await joinPartitionLeases({
        ...common,
        servers: NATS,
        node: 'a',
        ...log.callbacks('a'),
      });
      await waitFor('a to own p0', () => a.owned().length === 1, 10_000);
      const taken = log.events.find((e) => e.node === 'a' && e.kind === 'acquire');
      return { handedOff: taken?.handedOff, overlaps: log.overlaps() };
    } finally {
      await through.close();
    }
  }

  it('releases a lease handed off while a renewal of it is on its way, so the next owner takes it at once', async () => {
    const mesh = newMesh();
    // The broker's answers about b's lease key come 400 ms late (the lease calls time out at 1 s): a
    // renewal is mostly in flight, and b's drain ends while one has moved the key on, unanswered yet.
    const key = `$KV.${leaseBucketOf(mesh)}.${partitionKey(0)}`;
    await using proxy = await answerDelayingProxy(4222, key, 400);
    const took = await handOffThrough(mesh, proxy.port, ['a renewal in flight', () => proxy.withheld() > 0]);
    // Released, not lapsed: a found b's delete marker.
    expect(took.handedOff).toBe(true);
    expect(took.overlaps).toEqual([]);
  });

  it('releases a lease handed off after a renewal whose answer was lost, reading the key back', async () => {
    const mesh = newMesh();
    // The second answer about b's lease key is lost: its create's comes, its first renewal's not; b's
    // drain ends once that renewal went through unanswered, so b's revision of the key is stale.
    const key = `$KV.${leaseBucketOf(mesh)}.${partitionKey(0)}`;
    await using proxy = await answerLosingProxy(4222, key, 2);
    const took = await handOffThrough(mesh, proxy.port, ['a renewal answer lost', () => proxy.lost()]);
    expect(took.handedOff).toBe(true);
  });

  it("hands a joining node its share, and takes a leaving one's, at once rather than at the next tick", async () => {
    const mesh = newMesh();
    const log = createLeaseLog();
    // Ticks of 10 s: without the nodes' notices, each move would wait for the next one.
    const common = { mesh, partitions: 2, servers: NATS, leaseMs: 30_000, tickMs: 10_000, marginMs: 5_000 };
    await using a = await joinPartitionLeases({ ...common, node: 'a', ...log.callbacks('a') });
    await waitFor('a to own both', () => a.owned().length === 2);
    // a's first tick is done: its next is 10 s away.
    await using b = await joinPartitionLeases({ ...common, node: 'b', ...log.callbacks('b') });
    await waitFor('b to get its share', () => b.owned().length === 1, 5_000);
    await b.close();
    await waitFor('a to take it back', () => a.owned().length === 2, 5_000);
    expect(log.overlaps()).toEqual([]);
    const released = log.events.filter((e) => e.kind === 'acquire' && e.handedOff === true);
    expect(released.map((e) => e.node)).toEqual(['b', 'a']);
  });
});
