// node bench/cluster-one-node.ts [roots=30000] [--cpu-prof]: one `meshwarden up --cluster` node of
// the cluster bench's mesh (12 partitions, PostgreSQL ledger), fed `roots` root messages (3 hops
// each) by the bench's feeder, 2,000 pipelines in flight, after 500 to warm it. Prints its guarded
// hops/s, where the machine's CPU went (node, nats-server, PostgreSQL, feeder) per hop, the CPU
// ceiling (`cpuCeiling`: the hops/s if every core did only this work), and how fast the machine was
// (the embedded bench's limit loop, `machineSpeed` in limit.ts). Longer and steadier than the
// `--cluster` bench's 1-node row, for a before and after: run it in each tree (built), in turns. `--cpu-prof` writes the node's profile to bench/results/cpu-prof/.
// PostgreSQL's CPU leaves out the bench's own counting queries. MW_BENCH_KEEP_SCHEMA=1 keeps the
// ledger's schema (bench_one_<id>) for a look afterwards.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats } from '../dist/runtime/nats-connect.js';
import { writeMeshFile } from './cluster.ts';
import { cpuCeiling, cpuMeter, loadAverage } from './cluster-cpu.ts';
import { openFeeder } from './cluster-feed.ts';
import { openLedgerProbe, waitDecided } from './cluster-ledger.ts';
import { removeMeshStreams, startNode, stopNode, waitBalanced } from './cluster-nodes.ts';
import { machineSpeed } from './limit.ts';

const PARTITIONS = 12;
const roots = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 30_000);
const profileDir = new URL('./results/cpu-prof/', import.meta.url).pathname;
const servers = process.env.MW_BENCH_NATS ?? 'nats://127.0.0.1:4222';
const postgres = process.env.MW_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const id = randomUUID().slice(0, 8);
const mesh = `bench-${id}`;
const schema = `bench_one_${id}`;
const dir = mkdtempSync(join(tmpdir(), 'meshwarden-one-node-'));
const place = {
  meshFile: writeMeshFile(dir, mesh),
  servers,
  ledger: `${postgres}?schema=${schema}`,
  dir,
  ...(process.argv.includes('--cpu-prof') ? { execArgv: ['--cpu-prof', '--cpu-prof-dir', profileDir] } : {}),
};
// As a node connects (nats-connect.ts): the feeder publishes as a node's ingress does.
const nc = await connectNats(servers, 'meshwarden bench', 'MW_RUNTIME_BUS_CONNECT');
const probe = openLedgerProbe(postgres, schema);
const limitLoop = machineSpeed();
const loadBefore = loadAverage();
const node = await startNode(place, 'a');
try {
  await waitBalanced(nc, mesh, ['a'], PARTITIONS);
  const feeder = await openFeeder(nc, mesh, PARTITIONS);
  await feeder.feed(500, { inFlight: 200, entities: 1_000 });
  while (feeder.decided() < 500) await new Promise((r) => setTimeout(r, 20));
  const since = Date.now();
  const meter = cpuMeter(() => [node.child.pid!], [await probe.backendPid()]);
  const began = performance.now();
  await feeder.feed(roots, { inFlight: 2_000, entities: 1_000 });
  // Every pipeline's three steps decided, read from the ledger.
  const { count } = await waitDecided(probe, feeder, {
    since,
    expected: roots * 3,
    replies: 500 + roots,
    timeoutMs: 300_000,
  });
  if (count < roots * 3) throw new Error(`${count} of ${roots * 3} hops decided in 300 s`);
  const seconds = (performance.now() - began) / 1000;
  const cpu = meter.end();
  const hops = roots * 3;
  const per = (s: number) => ((s * 1e6) / hops).toFixed(1);
  process.stdout.write(
    `${Math.round(hops / seconds).toLocaleString('en')} guarded hops/s (${hops.toLocaleString('en')} hops in ${seconds.toFixed(2)} s); CPU µs a hop: node ${per(cpu.nodes)}, nats-server ${per(cpu.nats)}, PostgreSQL ${per(cpu.postgres)}, feeder ${per(cpu.feeder)}; CPU ceiling ${cpuCeiling(cpu, hops).toLocaleString('en')} hops/s on ${availableParallelism()} cores; load before ${loadBefore}; limit loop ${limitLoop.toLocaleString('en')} durable hops/s\n`,
  );
  await feeder.close();
} finally {
  // Each step whatever the others did: a run that failed leaves no node, stream or schema behind.
  const step = (what: string, work: () => Promise<unknown>) =>
    work().catch((err: unknown) => process.stderr.write(`cleanup: ${what}: ${String(err)}\n`));
  await step('stop the node', () => stopNode(node));
  await step('remove the stream and lease bucket', () => removeMeshStreams(nc, mesh));
  if (process.env.MW_BENCH_KEEP_SCHEMA === undefined) await step('drop the schema', () => probe.drop());
  else await step('close the probe', () => probe.close());
  await step('close NATS', () => nc.close());
  rmSync(dir, { recursive: true, force: true });
}
