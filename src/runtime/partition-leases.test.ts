import { fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../envelope/index.js';
import { leaseBucketOf, partitionKey } from './lease-names.js';
import { createLeaseLog, meshesDroppedAfterEach, NATS, SHORT_LEASES, waitFor } from './lease-test-kit.js';
import { joinPartitionLeases, type LeaseLossReason, type OwnedLease } from './partition-leases.js';
import { answerLosingProxy, cuttableProxy } from './tcp-cut-test-kit.js';

const TIMES = SHORT_LEASES;
const newMesh = meshesDroppedAfterEach();
const all = (n: number) => Array.from({ length: n }, (_, p) => p);

describe('partition leases on NATS KV', () => {
  it('gives one node every partition, then splits them with a node that joins, never two owners', async () => {
    const mesh = newMesh();
    const log = createLeaseLog();
    const common = { servers: NATS, mesh, partitions: 8, ...TIMES };
    await using a = await joinPartitionLeases({ ...common, node: 'a', ...log.callbacks('a', 100) });
    // None held yet (the metrics' meshwarden_partitions_unowned), then none unheld once listed again.
    expect(a.unowned()).toBe(8);
    await waitFor('a to own all', () => a.owned().length === 8);
    await waitFor('a to list every partition held', () => a.unowned() === 0);
    await using b = await joinPartitionLeases({ ...common, node: 'b', ...log.callbacks('b') });
    await waitFor('a split', () => a.owned().length === 4 && b.owned().length === 4);
    await waitFor('b to list every partition held', () => b.unowned() === 0);
    expect(a.owned().map((l) => l.partition)).toEqual(all(4));
    expect(b.owned().map((l) => l.partition)).toEqual([4, 5, 6, 7]);
    expect(a.members()).toEqual(['a', 'b']);
    expect(log.overlaps()).toEqual([]);
    expect(log.events.filter((e) => e.kind === 'lose').map((e) => e.reason)).toEqual(
      Array(4).fill('rebalance'),
    );
    // A moved partition's new epoch is above the old one: the ledger can fence the old owner.
    const epochOf = (leases: readonly OwnedLease[], p: number) =>
      leases.find((l) => l.partition === p)?.epoch;
    const firstEpoch = log.events.find((e) => e.node === 'a' && e.partition === 5)?.epoch ?? 0;
    expect(epochOf(b.owned(), 5)).toBeGreaterThan(firstEpoch);
  });

  it('leaves no consumer behind on the broker as it lists the bucket every tick', async () => {
    const mesh = newMesh();
    const log = createLeaseLog();
    const common = { servers: NATS, mesh, partitions: 4, ...TIMES };
    await using a = await joinPartitionLeases({ ...common, node: 'a', ...log.callbacks('a') });
    await using b = await joinPartitionLeases({ ...common, node: 'b', ...log.callbacks('b') });
    await waitFor('a split', () => a.owned().length === 2 && b.owned().length === 2);
    await sleep(10 * TIMES.tickMs);
    const nc = await connect({ servers: NATS });
    try {
      const jsm = await jetstreamManager(nc);
      const consumers = await jsm.consumers.list(`KV_${leaseBucketOf(mesh)}`).next();
      expect(consumers.map((c) => c.name)).toEqual([]);
    } finally {
      await nc.close();
    }
  });

  it('splits 16 partitions 6, 5 and 5 over three nodes', async () => {
    const mesh = newMesh();
    const log = createLeaseLog();
    const common = { servers: NATS, mesh, partitions: 16, ...TIMES };
    await using a = await joinPartitionLeases({ ...common, node: 'a', ...log.callbacks('a') });
    await using b = await joinPartitionLeases({ ...common, node: 'b', ...log.callbacks('b') });
    await using c = await joinPartitionLeases({ ...common, node: 'c', ...log.callbacks('c') });
    const counts = () => [a, b, c].map((node) => node.owned().length);
    await waitFor('a three-way split', () => counts().join() === '6,5,5');
    expect(log.owners().size).toBe(16);
    expect(log.overlaps()).toEqual([]);
  });

  it('hands every partition over at once on close(), after the closing node stopped', async () => {
    const mesh = newMesh();
    const log = createLeaseLog();
    // Leases of 60 s: a takeover by expiry would miss the 15 s wait below.
    const common = { servers: NATS, mesh, partitions: 6, leaseMs: 60_000, tickMs: 250, marginMs: 5_000 };
    const gone: [string, boolean][] = [];
    const onMemberGone = (node: string, { lapsed }: { lapsed: boolean }) => void gone.push([node, lapsed]);
    await using a = await joinPartitionLeases({ ...common, node: 'a', ...log.callbacks('a'), onMemberGone });
    await waitFor('a to own all', () => a.owned().length === 6);
    const b = await joinPartitionLeases({ ...common, node: 'b', ...log.callbacks('b', 200) });
    await waitFor('a split', () => a.owned().length === 3 && b.owned().length === 3);
    await b.close();
    await waitFor('a to hear b left', () => gone.length > 0);
    expect(gone).toEqual([['b', false]]);
    expect(b.owned()).toEqual([]);
    expect(await b.closed).toBeUndefined();
    await waitFor('a to own all', () => a.owned().length === 6);
    expect(log.overlaps()).toEqual([]);
    expect(log.events.filter((e) => e.node === 'b' && e.kind === 'lose').map((e) => e.reason)).toEqual(
      Array(3).fill('closed'),
    );
    // a found b's three released (a hand-off); its first six were never held before.
    const acquired = log.events.filter((e) => e.node === 'a' && e.kind === 'acquire');
    expect(acquired.map((e) => e.handedOff)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      true,
      true,
      true,
    ]);
    await b.close(); // idempotent
  });

  it('moves a SIGKILLed node’s partitions to the survivor, only after the dead node’s leases ran out', async () => {
    const mesh = newMesh();
    const log = createLeaseLog();
    const script = fileURLToPath(new URL('../../test/fixtures/lease-node.ts', import.meta.url));
    const child = fork(
      script,
      [JSON.stringify({ servers: NATS, mesh, node: 'dead', partitions: 8, ...TIMES })],
      {
        stdio: 'ignore',
      },
    );
    // What the child owned at its last report, until when; its acquires and losses go to the log.
    let validUntil = new Map<number, number>();
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (message: ChildMessage) => {
        if (message.kind === 'ready') resolve();
        if (message.kind === 'acquire' || message.kind === 'lose') log.record({ ...message, node: 'dead' });
        if (message.leases !== undefined)
          validUntil = new Map(message.leases.map((l) => [l.partition, l.validUntil]));
      });
      child.on('exit', (code) => reject(new Error(`the lease node exited with ${code}`)));
    });
    try {
      await ready;
      await waitFor('the child to own all', () => validUntil.size === 8);
      const gone: [string, boolean][] = [];
      await using survivor = await joinPartitionLeases({
        servers: NATS,
        mesh,
        node: 'survivor',
        partitions: 8,
        ...TIMES,
        ...log.callbacks('survivor'),
        onMemberGone: (node, { lapsed }) => void gone.push([node, lapsed]),
      });
      await waitFor('a split', () => survivor.owned().length === 4 && validUntil.size === 4);
      const theirs = [...validUntil.keys()];
      expect(theirs).toEqual([0, 1, 2, 3]); // a node above its share hands off its highest
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      // The dead node could decide for a partition until the validUntil it last reported, no later.
      for (const [partition, at] of validUntil)
        log.record({ at, node: 'dead', kind: 'lose', partition, reason: 'killed' });
      await waitFor('the takeover', () => survivor.owned().length === 8, 20_000);
      expect(log.owners()).toEqual(new Map(all(8).map((p) => [p, 'survivor'])));
      // Replayed in order: each survivor acquire of 0..3 comes after the dead node's last decision,
      // with a greater epoch.
      expect(log.overlaps()).toEqual([]);
      expect(log.events.filter((e) => e.node === 'dead' && e.kind === 'lose').map((e) => e.reason)).toEqual([
        ...Array(4).fill('rebalance'),
        ...Array(4).fill('killed'),
      ]);
      await waitFor('the survivor to hear the dead node lapsed', () => gone.length > 0);
      expect(gone).toEqual([['dead', true]]);
      // The survivor was handed 4..7, and found 0..3 lapsed.
      const found = log.events.filter((e) => e.node === 'survivor' && e.kind === 'acquire');
      expect(new Map(found.map((e) => [e.partition, e.handedOff]))).toEqual(
        new Map(all(8).map((p) => [p, p >= 4])),
      );
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('stops a node cut off from NATS within its lease, and gives it its share back after the cut', async () => {
    const mesh = newMesh();
    const log = createLeaseLog();
    await using proxy = await cuttableProxy(4222);
    const common = { mesh, partitions: 8, ...TIMES };
    await using a = await joinPartitionLeases({ ...common, servers: NATS, node: 'a', ...log.callbacks('a') });
    const cutConnection = await connect({
      servers: `nats://127.0.0.1:${proxy.port}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    try {
      await using b = await joinPartitionLeases({
        ...common,
        connection: cutConnection,
        node: 'b',
        ...log.callbacks('b'),
      });
      await waitFor('a split', () => a.owned().length === 4 && b.owned().length === 4);
      proxy.cut();
      const losses = () => log.events.filter((e) => e.node === 'b' && e.kind === 'lose');
      await waitFor('b to stop', () => losses().length === 4, 10_000);
      expect(b.owned()).toEqual([]);
      expect(losses().map((e) => e.reason)).toEqual(Array(4).fill('expired'));
      await waitFor('a to take over', () => a.owned().length === 8, 10_000);
      proxy.heal();
      await waitFor('b back with its share', () => a.owned().length === 4 && b.owned().length === 4, 15_000);
      // b stopped by itself before a took its partitions over, and again before it got them back.
      expect(log.overlaps()).toEqual([]);
    } finally {
      await cutConnection.close();
    }
  });

  it('takes up a lease whose create answer was lost, instead of leaving it to stall a lease', async () => {
    const mesh = newMesh();
    const log = createLeaseLog();
    // The broker stores the create of p0 and its answer is lost on the way back.
    await using proxy = await answerLosingProxy(4222, `$KV.${leaseBucketOf(mesh)}.p.0`);
    const nc = await connect({ servers: `nats://127.0.0.1:${proxy.port}` });
    try {
      // Leases of 60 s: waiting for the orphaned key to lapse would miss the wait below.
      const times = { leaseMs: 60_000, tickMs: 250, marginMs: 5_000 };
      await using a = await joinPartitionLeases({
        connection: nc,
        mesh,
        partitions: 1,
        ...times,
        node: 'a',
        ...log.callbacks('a'),
      });
      await waitFor('a to own p0', () => a.owned().length === 1, 10_000);
      expect(proxy.lost()).toBe(true);
      await using side = await sideBucket(mesh);
      const entry = await side.kv.get(partitionKey(0));
      expect(entry?.json()).toEqual({ node: 'a', epoch: a.owned()[0]?.epoch });
      expect(log.events.map((e) => [e.kind, e.partition])).toEqual([['acquire', 0]]);
    } finally {
      await nc.close();
    }
  });

  it('keeps a lease whose renewal answer was lost (the key still holds this node and epoch)', async () => {
    const mesh = newMesh();
    const log = createLeaseLog();
    const errors: string[] = [];
    const common = {
      servers: NATS,
      mesh,
      partitions: 2,
      ...TIMES,
      onError: (e: { code: string }) => errors.push(e.code),
    };
    await using a = await joinPartitionLeases({ ...common, node: 'a', ...log.callbacks('a') });
    await waitFor('a to own all', () => a.owned().length === 2);
    const epoch = a.owned()[0]?.epoch;
    await using side = await sideBucket(mesh);
    // What a lost answer leaves behind: the renewal was stored, the node never saw its revision.
    let entry = await side.kv.get(partitionKey(0));
    while (entry?.json<{ epoch: number }>().epoch !== epoch) {
      await sleep(TIMES.tickMs / 5); // the first renewal writes the epoch
      entry = await side.kv.get(partitionKey(0));
    }
    const lost = await side.kv.update(partitionKey(0), entry?.string() ?? '', entry?.revision ?? 0);
    await sleep(4 * TIMES.tickMs);
    expect((await side.kv.get(partitionKey(0)))?.revision).toBeGreaterThan(lost); // renewed since
    expect(a.owned().map((l) => [l.partition, l.epoch])).toEqual([
      [0, epoch],
      [1, a.owned()[1]?.epoch],
    ]);
    expect(log.events.filter((e) => e.kind === 'lose')).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('stops at once when a renewal finds another node’s lease (taken), and takes it again once free', async () => {
    const mesh = newMesh();
    const log = createLeaseLog();
    await using a = await joinPartitionLeases({
      servers: NATS,
      mesh,
      partitions: 2,
      ...TIMES,
      node: 'a',
      ...log.callbacks('a'),
    });
    await waitFor('a to own all', () => a.owned().length === 2);
    await using side = await sideBucket(mesh);
    await side.kv.put(partitionKey(0), JSON.stringify({ node: 'x', epoch: 1 }));
    const losses = () => log.events.filter((e) => e.kind === 'lose');
    await waitFor('a to lose p0', () => losses().length === 1, 5_000);
    expect(losses().map((e) => [e.partition, e.reason])).toEqual([[0, 'taken']]);
    expect(a.owned().map((l) => l.partition)).toEqual([1]);
    // x never renews: its key lapses with the bucket's max age and a takes p0 again, a new epoch.
    await waitFor('a to own p0 again', () => a.owned().length === 2, 15_000);
    expect(log.overlaps()).toEqual([]);
  });

  it('stops every partition when its connection closes, and says why in `closed`', async () => {
    const mesh = newMesh();
    const log = createLeaseLog();
    const nc = await connect({ servers: NATS });
    const a = await joinPartitionLeases({
      connection: nc,
      mesh,
      partitions: 3,
      ...TIMES,
      node: 'a',
      ...log.callbacks('a'),
    });
    await waitFor('a to own all', () => a.owned().length === 3);
    await nc.close();
    const ended = await a.closed;
    expect(isMeshwardenError(ended) ? ended.code : ended).toBe('MW_RUNTIME_LEASE_CONNECTION');
    expect(log.events.filter((e) => e.kind === 'lose').map((e) => e.reason)).toEqual(
      Array(3).fill('connection'),
    );
    expect(a.owned()).toEqual([]);
    await a.close();
  });

  it('refuses unusable options and a lease time other than the mesh’s', async () => {
    const mesh = newMesh();
    const base = { servers: NATS, mesh, partitions: 2, onAcquire: () => {}, onLose: () => {} };
    expect(await codeOf(joinPartitionLeases({ ...base, node: 'a.b' }))).toBe('MW_RUNTIME_LEASE_OPTIONS');
    expect(await codeOf(joinPartitionLeases({ ...base, mesh: '', node: 'a' }))).toBe(
      'MW_RUNTIME_LEASE_OPTIONS',
    );
    expect(await codeOf(joinPartitionLeases({ ...base, node: 'a', leaseMs: 1_000 }))).toBe(
      'MW_RUNTIME_LEASE_OPTIONS',
    );
    await using first = await joinPartitionLeases({ ...base, node: 'a', ...TIMES });
    expect(await codeOf(joinPartitionLeases({ ...base, node: 'b', ...TIMES, leaseMs: 4_000 }))).toBe(
      'MW_RUNTIME_LEASE_TIME',
    );
    // A second process under a live id waits for it to lapse, saying so once, then is refused.
    const waits: number[] = [];
    const onWaitingForMembership = (ms: number) => waits.push(ms);
    const second = joinPartitionLeases({ ...base, node: 'a', ...TIMES, onWaitingForMembership });
    expect(await codeOf(second)).toBe('MW_RUNTIME_LEASE_NODE');
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(0);
    expect(first.node).toBe('a');
    expect(
      await codeOf(joinPartitionLeases({ ...base, servers: 'nats://127.0.0.1:1', node: 'c', ...TIMES })),
    ).toBe('MW_RUNTIME_LEASE_CONNECT');
  });
});

type ChildMessage =
  | { kind: 'ready'; leases?: undefined }
  | { kind: 'owned'; leases: OwnedLease[] }
  | { kind: 'acquire'; at: number; partition: number; epoch: number; leases?: undefined }
  | { kind: 'lose'; at: number; partition: number; reason: LeaseLossReason; leases?: undefined };

/** The mesh's lease bucket on a connection of its own: what another node or a lost answer did. */
async function sideBucket(mesh: string) {
  const nc = await connect({ servers: NATS });
  const kv = await new Kvm(nc).open(leaseBucketOf(mesh));
  return { kv, [Symbol.asyncDispose]: () => nc.close() };
}

async function codeOf(promise: Promise<{ close(): Promise<void> }>): Promise<string | undefined> {
  try {
    await (await promise).close();
    return undefined;
  } catch (err) {
    return isMeshwardenError(err) ? err.code : `not a MeshwardenError: ${String(err)}`;
  }
}
