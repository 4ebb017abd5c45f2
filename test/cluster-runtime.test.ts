// Distributed mode in one process: two nodes (`openMesh({ cluster })`) on the real NATS JetStream and
// PostgreSQL, sharing one mesh. The CLI test with three processes and a SIGKILL is cluster.test.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it, onTestFinished } from 'vitest';
import { sayClusterNotes } from '../src/cli/commands/up-serve.js';
import { partitionOf } from '../src/envelope/index.js';
import type { LedgerEntry } from '../src/ledger/index.js';
import { tempPostgresSchemas } from '../src/ledger/postgres-test-kit.js';
import { createEnvelopeFactory, systemRandom } from '../src/runtime/envelopes.js';
import { ENTRY, type MeshEvent, type OpenedMesh, openMesh } from '../src/runtime/index.js';
import { openJetStreamBus } from '../src/runtime/jetstream-bus.js';
import { streamNameOf } from '../src/runtime/jetstream-names.js';
import { dropLeaseBucket, NATS, uniqueMesh, waitFor } from '../src/runtime/lease-test-kit.js';
import type { PartitionItem } from '../src/runtime/partitions.js';
import { log, writeMesh } from '../src/runtime/test-kit.js';

const freshSchema = tempPostgresSchemas();
const PARTITIONS = 4;
const reasonOf = (e: LedgerEntry) => (e.data as { verdict: { reason: string } }).verdict.reason;

/** A mesh of its own (stream, lease bucket, schema), removed after the test; `join(node)` opens a node. */
function freshCluster() {
  const mesh = uniqueMesh();
  const dir = writeMesh(0);
  const file = join(dir, 'mesh.yaml');
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace('mesh: t', `mesh: ${mesh}\npartitions: ${PARTITIONS}`),
  );
  const at = freshSchema();
  onTestFinished(async () => {
    await dropLeaseBucket(mesh);
    const nc = await connect({ servers: NATS });
    await (await jetstreamManager(nc)).streams.delete(streamNameOf(mesh)).catch(() => {});
    await nc.close();
  });
  const open = (node: string, ledgerAt = at.location) =>
    openMesh({
      meshFile: file,
      dataDir: join(dir, `data-${node}`),
      log,
      ledgerAt,
      cluster: { servers: NATS, node, leaseMs: 3_000 },
    });
  const join_ = async (node: string): Promise<OpenedMesh & { close(): Promise<void> }> => {
    const opened = await open(node);
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    onTestFinished(() => opened.opened.close());
    return opened.opened;
  };
  return { mesh, file, ledgerAt: at.location, join: join_, open };
}

const ownedBy = (o: OpenedMesh) => o.mesh.node!.owned();

/** A subject of this test whose partition `o` owns. */
function subjectOwnedBy(o: OpenedMesh): string {
  for (let i = 0; ; i++) if (ownedBy(o).includes(partitionOf(`job:${i}`, PARTITIONS))) return `job:${i}`;
}

async function twoNodes() {
  const cluster = freshCluster();
  const a = await cluster.join('a');
  const b = await cluster.join('b');
  await waitFor('the partitions split between a and b', () => {
    const [na, nb] = [ownedBy(a).length, ownedBy(b).length];
    return na > 0 && nb > 0 && na + nb === PARTITIONS;
  });
  return { ...cluster, a, b };
}

describe('a cluster of two nodes in one process', () => {
  it('decides a message on the node that owns its partition, and answers its sender on the other', async () => {
    const { a, b } = await twoNodes();
    const subject = subjectOwnedBy(b);
    const decided = await a.mesh.inject('api', { type: 'job.queued.v1', subject, data: { n: 1 } });
    expect(reasonOf(decided)).toBe('gate.admitted');
    expect(decided.partition).toBe(partitionOf(subject, PARTITIONS));
    await a.control!.quiet();
    // b's partition handled it; what its agent emitted was decided and handled too.
    const consequences = await a.ledger.byCausation(decided.msgId!);
    expect(consequences.map((e) => e.agent).sort()).toEqual(['flaky@1.0.0', 'flaky@1.0.0']);
    expect(b.mesh.counts().messages.admitted).toBeGreaterThanOrEqual(1);
    expect((await a.ledger.verify()).ok).toBe(true);
  });

  it('admits an item delivered again after its owner recorded it once, a root message or a handler’s group', async () => {
    const { mesh, a } = await twoNodes();
    const subject = subjectOwnedBy(a);
    // A second publisher without the broker's dedupe, as a redelivery after a crash comes.
    await using bus = await openJetStreamBus<PartitionItem>({
      servers: NATS,
      mesh,
      partitions: PARTITIONS,
      onError: () => {},
    });
    const id = '0190f2a0-0000-7000-8000-0000000000c1';
    const item: PartitionItem = {
      kind: 'root',
      ticket: 1,
      from: 'gone',
      ingress: 'api',
      message: { type: 'job.queued.v1', subject, data: { n: 2 }, id },
      assigned: true,
    };
    const p = partitionOf(subject, PARTITIONS);
    await bus.publish(p, item);
    await bus.publish(p, item);
    await a.control!.quiet();
    const recorded = await a.ledger.byMessage(id);
    expect(recorded.filter((e) => e.kind === ENTRY.decision)).toHaveLength(1);
    expect(reasonOf(recorded[0]!)).toBe('gate.admitted');

    // A handler's emissions, twice (its first run's copy waited on the stream while a new owner ran
    // it again): one group admitted, the copy found recorded, even within one batch.
    const factory = createEnvelopeFactory({
      mesh,
      maxHops: () => 8,
      clock: Date.now,
      random: systemRandom,
      derivedChildIds: true,
    });
    const parent = factory.root('api', { type: 'job.queued.v1', subject, data: { n: 3 } });
    const flaky = a.mesh.policy.agents.get('flaky')!;
    const group: PartitionItem = {
      kind: 'emitted',
      ticket: 2,
      from: 'gone',
      emitted: [{ envelope: factory.child(parent, flaky, 'job.done.v1', { n: 3 }, {}, 0), gated: 'message' }],
    };
    await Promise.all([bus.publish(p, group), bus.publish(p, group)]);
    await bus.publish(p, group);
    await a.control!.quiet();
    const emitted = group.emitted[0]!.envelope.id;
    expect((await a.ledger.byMessage(emitted)).filter((e) => e.kind === ENTRY.decision)).toHaveLength(1);
  });

  it('routes a pilot’s freeze to the owner, and a node that takes the partition over rebuilds it from the chain', async () => {
    const { a, b } = await twoNodes();
    const subject = subjectOwnedBy(b);
    const p = partitionOf(subject, PARTITIONS);
    const freeze = a.mesh.pilot.freeze(subject, { pilot: 'ana', reason: 'looks like a loop' });
    if (!(freeze instanceof Promise)) throw freeze;
    expect((await freeze).partition).toBe(p);
    const frozenOn = (o: OpenedMesh) =>
      o.mesh.state.openBreakers().some((x) => x.key.endsWith(`|${subject}`));
    expect(frozenOn(b)).toBe(true);
    const statuses = await a.control!.nodes();
    expect(statuses.map((n) => n.node)).toEqual(['a', 'b']);
    expect(statuses[1]!.breakers.some((x) => x.key.endsWith(`|${subject}`))).toBe(true);

    // b leaves: a takes every partition over, p's state from p's chain.
    await b.close();
    // b handed p off with a snapshot of it, so a's rebuild folds only what came after.
    expect((await a.ledger.snapshots(p)).length).toBeGreaterThan(0);
    await waitFor('a owns every partition', () => ownedBy(a).length === PARTITIONS);
    expect(frozenOn(a)).toBe(true);
    const owners: { node: string; epoch: number }[] = [];
    for await (const e of a.ledger.scan({ partition: p, kinds: [ENTRY.partitionOwned] }))
      owners.push(e.data as { node: string; epoch: number });
    // a took every partition as it joined first, handed p to b, and takes it back now.
    expect(owners.map((o) => o.node)).toEqual(['a', 'b', 'a']);
    const epochs = owners.map((o) => o.epoch);
    expect(epochs).toEqual([...epochs].sort((x, y) => x - y));
    // Decided on a now, under the freeze b recorded.
    const held = await a.mesh.inject('api', { type: 'job.queued.v1', subject, data: { n: 3 } });
    expect((held.data as { verdict: { decision: string } }).verdict.decision).toBe('hold');
  });

  it('packs nothing on a mesh whose stream was made before packing, and says so', async () => {
    const cluster = freshCluster();
    // Made as a node of an older version made it: no wire recorded.
    const older = await openJetStreamBus<PartitionItem>({
      servers: NATS,
      mesh: cluster.mesh,
      partitions: PARTITIONS,
      onError: () => {},
    });
    await older.close();
    const a = await cluster.join('a');
    const [status] = await a.control!.nodes();
    expect(status?.itemsPerMessage).toBe(1);
    const said: string[] = [];
    await sayClusterNotes(a.control!, a.mesh.policy.digest, { note: (t) => said.push(t) }, log);
    expect(said).toEqual([expect.stringContaining("this mesh's stream was made before nodes packed")]);
    // It still decides and handles what it is sent.
    const decided = await a.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    expect(reasonOf(decided)).toBe('gate.admitted');
    await a.control!.quiet();
    expect((await a.ledger.byCausation(decided.msgId!)).length).toBeGreaterThan(0);
  });

  it('refuses a node of the same mesh name on another ledger, which would split the mesh', async () => {
    const cluster = freshCluster();
    await cluster.join('a');
    const other = await cluster.open('b', freshSchema().location);
    expect(other.ok).toBe(false);
    if (!other.ok) {
      const [error] = other.errors ?? [];
      expect(error?.code).toBe('MW_RUNTIME_CLUSTER_MISMATCH');
      expect(error?.message).toContain('same partition count and ledger');
    }
  });

  it('refuses a node whose file changed the partition count, at the line of partitions:', async () => {
    const cluster = freshCluster();
    await cluster.join('a');
    const changed = cluster.file.replace(/mesh\.yaml$/, 'mesh-8.yaml');
    writeFileSync(
      changed,
      readFileSync(cluster.file, 'utf8').replace(`partitions: ${PARTITIONS}`, 'partitions: 8'),
    );
    const opened = await openMesh({
      meshFile: changed,
      dataDir: join(changed, '..', 'data-b'),
      log,
      ledgerAt: cluster.ledgerAt,
      cluster: { servers: NATS, node: 'b', leaseMs: 3_000 },
    });
    expect(opened.ok).toBe(false);
    if (!opened.ok) {
      expect(opened.errors?.[0]).toMatchObject({
        code: 'MW_RUNTIME_PARTITIONS_CHANGED',
        location: { file: changed, pointer: '/partitions', line: 2 },
      });
    }
  });

  it('refuses a ledger location that cannot be opened before it touches NATS, naming no password', async () => {
    const cluster = freshCluster();
    const location = new URL(freshSchema().location);
    location.password = 's3cret';
    location.searchParams.set('lanes', 'abc');
    const opened = await cluster.open('a', location.href);
    expect(opened.ok).toBe(false);
    if (!opened.ok) {
      expect(opened.errors?.map((e) => e.code)).toEqual(['MW_LEDGER_LOCATION']);
      expect(opened.errors?.[0]?.message).toContain('lanes="abc" must be a whole number from 1 to 64');
      expect(opened.errors?.[0]?.message).not.toContain('s3cret');
    }
    // No stream was made: the mesh name is free for the next, corrected, start.
    const nc = await connect({ servers: NATS });
    try {
      const jsm = await jetstreamManager(nc);
      await expect(jsm.streams.info(streamNameOf(cluster.mesh))).rejects.toThrow();
    } finally {
      await nc.close();
    }
    const again = await cluster.open('a');
    expect(again.ok).toBe(true);
    if (again.ok) await again.opened.close();
  });

  it('raises an alarm a node owning no partition could not record once it owns one', async () => {
    // Five nodes, four partitions: one owns none, as a node whose start-up verify ends before its
    // first take-over (the ledger.verify_failed alert it raised was lost).
    const cluster = freshCluster();
    const nodes: Awaited<ReturnType<typeof cluster.join>>[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) nodes.push(await cluster.join(name));
    await waitFor(
      'four nodes owning a partition each',
      () => nodes.filter((o) => ownedBy(o).length === 1).length === 4,
    );
    const idle = nodes.find((o) => ownedBy(o).length === 0)!;
    const alarms: MeshEvent[] = [];
    idle.mesh.onEvent((e) => {
      if (e.type === 'alarm') alarms.push(e);
    });
    idle.mesh.raise({ event: 'ledger.verify_failed', key: 'p0', summary: 'the ledger failed verification' });
    expect(alarms).toEqual([]);
    // A node leaves: its partition goes to the one that owned none, which raises the alarm there.
    await nodes.find((o) => ownedBy(o).length === 1)!.close();
    await waitFor('the idle node raising the alarm', () => alarms.length === 1);
    expect(alarms[0]).toMatchObject({ type: 'alarm', event: 'ledger.verify_failed', key: 'p0' });
    expect(ownedBy(idle)).toContain((alarms[0] as { partition: number }).partition);
  });

  it('refuses to join without a PostgreSQL ledger', async () => {
    const dir = writeMesh(0);
    const opened = await openMesh({
      meshFile: join(dir, 'mesh.yaml'),
      dataDir: join(dir, 'data'),
      log,
      cluster: { servers: NATS, node: 'x' },
    });
    expect(opened.ok).toBe(false);
    if (!opened.ok) expect(opened.errors?.map((e) => e.code)).toEqual(['MW_RUNTIME_NOT_CLUSTERED']);
  });
});
