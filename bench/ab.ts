// node bench/ab.ts <other tree> [rounds=3] [pipelines=30000]: guarded hops/s of this tree against
// another checkout's (both built), run alternately in one window, so the machine's mood of the day
// cancels out. The other tree's bench/pipeline.ts is imported as it is there. Each run's CPU time per
// hop is printed too (the main thread's, and the whole process's: commit worker and GC threads
// included): on a machine shared with other work, hops/s swings with their load, CPU per hop much less.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runPipelines } from './pipeline.ts';

/** What this file asks of the other tree's runPipelines: its first three arguments, as every tree takes them. */
type Run = (
  pipelines: number,
  entities: number,
  inFlight: number,
) => Promise<{ hopsPerSecond: number; hops: number }>;

const [other, rounds = '3', pipelines = '30000'] = process.argv.slice(2);
if (other === undefined) {
  process.stderr.write('usage: node bench/ab.ts <other tree> [rounds] [pipelines]\n');
  process.exit(2);
}
const url = pathToFileURL(resolve(other, 'bench/pipeline.ts')).href;
const before = (await import(url)) as { runPipelines: Run };
const n = Number(pipelines);
type Row = { hopsPerSecond: number[]; mainCpuUsPerHop: number[]; processCpuUsPerHop: number[] };
const row = (): Row => ({ hopsPerSecond: [], mainCpuUsPerHop: [], processCpuUsPerHop: [] });
const rows = { other: row(), here: row(), herePartitions2: row() };

/** One run, with the CPU time it took per hop. */
async function measure(into: Row, run: () => Promise<{ hopsPerSecond: number; hops: number }>) {
  const main = process.threadCpuUsage();
  const all = process.cpuUsage();
  const result = await run();
  const m = process.threadCpuUsage(main);
  const a = process.cpuUsage(all);
  const perHop = (us: number) => Math.round((us / result.hops) * 10) / 10;
  into.hopsPerSecond.push(result.hopsPerSecond);
  into.mainCpuUsPerHop.push(perHop(m.user + m.system));
  into.processCpuUsPerHop.push(perHop(a.user + a.system));
}

for (let r = 1; r <= Number(rounds); r++) {
  await measure(rows.other, () => before.runPipelines(n, 1_000, 2_000));
  await measure(rows.here, () => runPipelines(n, 1_000, 2_000));
  await measure(rows.herePartitions2, () => runPipelines(n, 1_000, 2_000, { partitions: 2 }));
  const last = (x: Row) => `${x.hopsPerSecond.at(-1)} (${x.mainCpuUsPerHop.at(-1)} µs)`;
  process.stderr.write(
    `round ${r}: ${last(rows.other)} · ${last(rows.here)} · ${last(rows.herePartitions2)}\n`,
  );
}
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const medians = Object.fromEntries(
  Object.entries(rows).map(([name, x]) => [
    name,
    {
      hopsPerSecond: median(x.hopsPerSecond),
      mainCpuUsPerHop: median(x.mainCpuUsPerHop),
      processCpuUsPerHop: median(x.processCpuUsPerHop),
    },
  ]),
);
process.stdout.write(`${JSON.stringify({ pipelines: n, rows, medians }, null, 2)}\n`);
