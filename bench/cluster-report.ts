// `npm run bench -- --cluster`: runs cluster.ts, prints its table, and writes it under `cluster` in
// bench/results/latest.json (the other parts of that file, from the last full bench, are kept).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ClusterResult, runCluster } from './cluster.ts';
import { loadAverage } from './cluster-cpu.ts';
import { machineSpeed } from './limit.ts';

export const CLUSTER_TARGETS = { oneNodeHopsPerSecond: 20_000, takeoverMs: 10_000 };

export async function benchCluster(opts: {
  quick: boolean;
  progress: (text: string) => void;
}): Promise<void> {
  const limitLoop = machineSpeed();
  const began = performance.now();
  const loadBefore = loadAverage();
  const result = await runCluster(opts);
  const cluster = {
    ...result,
    node: process.version,
    quick: opts.quick,
    seconds: Math.round((performance.now() - began) / 100) / 10,
    loadBefore,
    limitLoop,
    targets: CLUSTER_TARGETS,
  };
  const out = new URL('./results/', import.meta.url).pathname;
  mkdirSync(out, { recursive: true });
  const file = join(out, 'latest.json');
  const kept = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(file, `${JSON.stringify({ ...kept, cluster }, null, 2)}\n`);
  printTable(result, cluster.seconds, loadBefore, limitLoop);
}

function printTable(r: ClusterResult, seconds: number, loadBefore: string, limitLoop: number): void {
  const fmt = (n: number) => n.toLocaleString('en');
  const rows: [string, string, string][] = [];
  for (const row of r.rows) {
    const c = row.cpuSeconds;
    rows.push([
      `cluster: guarded hops/s, ${row.nodes} node(s)`,
      fmt(row.hopsPerSecond),
      `${row.nodes === 1 ? `target ≥ ${fmt(CLUSTER_TARGETS.oneNodeHopsPerSecond)}; ` : ''}CPU s nodes ${c.nodes}, NATS ${c.nats}, PostgreSQL ${c.postgres}, feeder ${c.feeder} in ${c.wallSeconds} s; CPU ceiling ${fmt(row.cpuCeilingHopsPerSecond)}`,
    ]);
    rows.push([
      `cluster: hop p50 / p99 ms, ${row.nodes} node(s), saturated`,
      `${row.hopP50ms} / ${row.hopP99ms}`,
      `2,000 pipelines in flight; load ${row.load}`,
    ]);
    rows.push([
      `cluster: hop p50 / p99 ms, ${row.nodes} node(s), light`,
      `${row.lightHopP50ms} / ${row.lightHopP99ms}`,
      '8 pipelines in flight',
    ]);
  }
  const t = r.takeover;
  rows.push([
    `cluster: takeover after SIGKILL, 1 of ${t.nodes} nodes`,
    `${fmt(t.takeoverMs)} ms`,
    `target ≤ ${fmt(CLUSTER_TARGETS.takeoverMs)} ms; partitions ${t.partitions.join(', ')}; lease ${fmt(t.leaseMs)} ms`,
  ]);
  rows.push([
    '  pipelines fed while it happened: all complete',
    t.pipelinesComplete >= t.pipelines ? 'yes' : `no: ${fmt(t.pipelinesComplete)} of ${fmt(t.pipelines)}`,
    `${fmt(t.pipelines)} pipelines; ${fmt(t.pipelinesStepTwice)} ran a step twice (new ids); ${fmt(t.recordedAgain)} ids decided twice`,
  ]);
  const width = Math.max(...rows.map((row) => row[0].length));
  for (const [name, value, note] of rows)
    process.stdout.write(`${name.padEnd(width)}  ${value.padStart(14)}  ${note}\n`);
  process.stdout.write(
    `${r.note}.\nhop latency: from a message's decision to its consequence's decision, both read from the ledger's \`at\` fields.\nload average before: ${loadBefore}; limit loop ${fmt(limitLoop)} durable hops/s (the machine's speed: 70,000 on slow days, 158,000 on fast ones). wrote bench/results/latest.json (cluster, ${seconds} s)\n`,
  );
}
