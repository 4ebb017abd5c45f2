// npm run bench -- --cluster: the bench mesh run by 1, 2 and 3 `meshwarden up --cluster` nodes on
// this machine, over NATS JetStream and the PostgreSQL ledger (both on the same 2 cores), then one
// node SIGKILLed under load. Each run has a mesh name and a schema of its own, removed after.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../dist/runtime/nats-connect.js';
import { cpuCeiling, cpuMeter, loadAverage } from './cluster-cpu.ts';
import { type Feeder, openFeeder } from './cluster-feed.ts';
import { type LedgerProbe, openLedgerProbe, waitDecided } from './cluster-ledger.ts';
import {
  type ClusterNode,
  type ClusterPlace,
  clusterStatus,
  removeMeshStreams,
  startNode,
  stopNode,
  waitBalanced,
} from './cluster-nodes.ts';
import { round } from './stats.ts';

const PARTITIONS = 12; // shared evenly by 1, 2 or 3 nodes
const ENTITIES = 1_000;
const SATURATED = 2_000; // pipelines in flight, as the embedded bench's saturated row
const LIGHT = 8;
const NODE_NAMES = ['a', 'b', 'c'] as const;

export type ClusterRow = {
  nodes: number;
  hops: number;
  seconds: number;
  hopsPerSecond: number;
  hopP50ms: number;
  hopP99ms: number;
  lightHopP50ms: number;
  lightHopP99ms: number;
  cpuSeconds: { nodes: number; feeder: number; nats: number; postgres: number; wallSeconds: number };
  /** The hops/s if every core did only this work, at the CPU a hop measured (`cpuCeiling`). */
  cpuCeilingHopsPerSecond: number;
  load: string;
};

export type ClusterTakeover = {
  nodes: number;
  killed: string;
  partitions: number[];
  takeoverMs: number;
  newOwners: Record<string, string>;
  leaseMs: number;
  /** Pipelines fed during the takeover run, and how many have all three steps decided. */
  pipelines: number;
  pipelinesComplete: number;
  /**
   * Pipelines with a step decided twice under two ids: a handler run again by the partition's next
   * owner, whose first run's emissions were on the stream and not yet decided when it recovered.
   */
  pipelinesStepTwice: number;
  hopsDecided: number;
  /** Decision entries of a message decided twice (the same id): none expected. */
  recordedAgain: number;
};

export type ClusterResult = {
  at: string;
  mesh: string;
  schema: string;
  partitions: number;
  note: string;
  rows: ClusterRow[];
  takeover: ClusterTakeover;
};

type Ctx = {
  probe: LedgerProbe;
  feeder: Feeder;
  progress: (text: string) => void;
};

/** Writes the bench mesh with this run's name and `partitions`, its modules by absolute path. */
export function writeMeshFile(dir: string, mesh: string): string {
  const here = new URL('./mesh/', import.meta.url).pathname;
  const text = readFileSync(join(here, 'mesh.yaml'), 'utf8')
    .replace(/^mesh: bench$/m, `mesh: ${mesh}`)
    .replaceAll('./agents/', join(here, 'agents/'))
    .replace('contracts: ./contracts', `contracts: ${join(here, 'contracts')}`);
  const file = join(dir, 'mesh.yaml');
  writeFileSync(file, `${text}partitions: ${PARTITIONS}\n`);
  return file;
}

async function measure(
  ctx: Ctx,
  nodes: ClusterNode[],
  pipelines: number,
  light: number,
): Promise<ClusterRow> {
  const since = Date.now();
  const cpu = cpuMeter(() => nodes.map((n) => n.child.pid ?? 0), [await ctx.probe.backendPid()]);
  const before = ctx.feeder.decided();
  const sent = await ctx.feeder.feed(pipelines, { inFlight: SATURATED, entities: ENTITIES });
  const done = await waitDecided(
    ctx.probe,
    ctx.feeder,
    { since, expected: sent * 3, replies: before + sent, timeoutMs: 180_000 },
    ctx.progress,
  );
  if (done.count < sent * 3) throw new Error(`only ${done.count} of ${sent * 3} hops were decided`);
  const cpuSeconds = cpu.end();
  const seconds = (done.last - since) / 1_000;
  const saturated = await ctx.probe.hopLatency(since, done.last);
  const lightSince = Date.now();
  const lightBefore = ctx.feeder.decided();
  const lightSent = await ctx.feeder.feed(light, { inFlight: LIGHT, entities: ENTITIES });
  const lightDone = await waitDecided(
    ctx.probe,
    ctx.feeder,
    { since: lightSince, expected: lightSent * 3, replies: lightBefore + lightSent, timeoutMs: 60_000 },
    ctx.progress,
  );
  const lightLatency = await ctx.probe.hopLatency(lightSince, lightDone.last);
  return {
    nodes: nodes.length,
    hops: done.count,
    seconds: round(seconds, 2),
    hopsPerSecond: Math.round(done.count / seconds),
    hopP50ms: round(saturated.p50, 1),
    hopP99ms: round(saturated.p99, 1),
    lightHopP50ms: round(lightLatency.p50, 1),
    lightHopP99ms: round(lightLatency.p99, 1),
    cpuSeconds,
    cpuCeilingHopsPerSecond: cpuCeiling(cpuSeconds, done.count),
    load: loadAverage(),
  };
}

/** SIGKILLs the last node while the feeder keeps 2,000 pipelines in flight; times the takeover. */
async function measureTakeover(ctx: Ctx, nc: NatsConnection, mesh: string, nodes: ClusterNode[]) {
  const since = Date.now();
  const feeding = ctx.feeder.feed(1_000_000, {
    inFlight: SATURATED,
    entities: ENTITIES,
    replyTimeoutMs: 20_000,
  });
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const victim = nodes[nodes.length - 1]!;
  const owned = (await clusterStatus(nc, mesh)).find((s) => s.node === victim.name)?.owned ?? [];
  ctx.progress(`  SIGKILL node ${victim.name} (owns partitions ${owned.join(', ')}) under load …`);
  const killedAt = Date.now();
  victim.child.kill('SIGKILL');
  const newOwners: Record<string, string> = {};
  let takeoverMs = Number.NaN;
  const deadline = killedAt + 60_000;
  while (Date.now() < deadline) {
    const taken = new Map<number, { node: string; at: number }>();
    for (const e of await ctx.probe.owned(killedAt)) {
      if (e.node !== victim.name && owned.includes(e.partition) && !taken.has(e.partition))
        taken.set(e.partition, e);
    }
    if (taken.size === owned.length) {
      takeoverMs = Math.max(...[...taken.values()].map((e) => e.at)) - killedAt;
      for (const [p, e] of taken) newOwners[p] = e.node;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  ctx.progress(
    `  taken over in ${Math.round(takeoverMs).toLocaleString('en')} ms; letting the load finish …`,
  );
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  ctx.feeder.stop();
  const sent = await feeding;
  const deadlineDone = Date.now() + 90_000;
  let pipelines = await ctx.probe.pipelines(since);
  while (pipelines.complete < sent && Date.now() < deadlineDone) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    pipelines = await ctx.probe.pipelines(since);
  }
  const decided = await ctx.probe.decisions(since);
  await victim.exited;
  return {
    nodes: nodes.length,
    killed: victim.name,
    partitions: owned,
    takeoverMs: Math.round(takeoverMs),
    newOwners,
    leaseMs: 5_000,
    pipelines: sent,
    pipelinesComplete: pipelines.complete,
    pipelinesStepTwice: pipelines.overfull,
    hopsDecided: decided.count,
    recordedAgain: decided.entries - decided.count,
  };
}

export async function runCluster(opts: {
  quick: boolean;
  progress: (text: string) => void;
}): Promise<ClusterResult> {
  const { progress } = opts;
  const servers = process.env.MW_BENCH_NATS ?? 'nats://127.0.0.1:4222';
  const postgres = process.env.MW_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
  const id = randomUUID().slice(0, 8);
  const mesh = `bench-${id}`;
  const schema = `bench_cluster_${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-cluster-'));
  const place: ClusterPlace = {
    meshFile: writeMeshFile(dir, mesh),
    servers,
    ledger: `${postgres}?schema=${schema}`,
    dir,
  };
  const pipelines = opts.quick ? 3_000 : 12_000;
  const light = opts.quick ? 200 : 600;
  // As a node connects (nats-connect.ts): the feeder publishes as a node's ingress does.
  const nc = await connectNats(servers, 'meshwarden bench', 'MW_RUNTIME_BUS_CONNECT');
  const probe = openLedgerProbe(postgres, schema);
  const nodes: ClusterNode[] = [];
  let feeder: Feeder | undefined;
  const note =
    'nodes, NATS and PostgreSQL share the same 2 cores (their CPU seconds: every nats-server and postgres process on the machine, other work included); each node is a `meshwarden up --cluster` process; the feeder publishes root messages onto the stream (it is not a node)';
  progress(`cluster: mesh ${mesh}, schema ${schema}, ${PARTITIONS} partitions; ${note}`);
  try {
    const rows: ClusterRow[] = [];
    for (const name of NODE_NAMES) {
      progress(`cluster: starting node ${name} (meshwarden up --cluster) …`);
      nodes.push(await startNode(place, name));
      await waitBalanced(
        nc,
        mesh,
        nodes.map((n) => n.name),
        PARTITIONS,
      );
      feeder ??= await openFeeder(nc, mesh, PARTITIONS);
      const ctx = { probe, feeder, progress };
      progress(
        `cluster: ${nodes.length} node(s): ${pipelines.toLocaleString('en')} pipelines (${(pipelines * 3).toLocaleString('en')} hops), ${SATURATED} in flight, then ${light} at ${LIGHT} in flight …`,
      );
      const row = await measure(ctx, nodes, pipelines, light);
      progress(
        `  ${row.hopsPerSecond.toLocaleString('en')} guarded hops/s; hop p50/p99 ${row.hopP50ms}/${row.hopP99ms} ms saturated, ${row.lightHopP50ms}/${row.lightHopP99ms} ms light; load ${row.load}`,
      );
      rows.push(row);
    }
    progress(`cluster: takeover: ${nodes.length} nodes under load, one SIGKILLed …`);
    const takeover = await measureTakeover({ probe, feeder: feeder!, progress }, nc, mesh, nodes);
    return { at: new Date().toISOString(), mesh, schema, partitions: PARTITIONS, note, rows, takeover };
  } finally {
    progress('cluster: stopping the nodes, removing the stream, the lease bucket and the schema …');
    await feeder?.close().catch(() => {});
    await Promise.all(nodes.map((n) => stopNode(n)));
    await removeMeshStreams(nc, mesh);
    await nc.close();
    await probe.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
