// node bench/ab.ts <other tree> [rounds=3] [pipelines=30000]: guarded hops/s of this tree against
// another checkout's (both built), run alternately in one window, so the machine's mood of the day
// cancels out. The other tree's bench/pipeline.ts is imported as it is there.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runPipelines } from './pipeline.ts';

type Run = (pipelines: number, entities: number, inFlight: number) => Promise<{ hopsPerSecond: number }>;

const [other, rounds = '3', pipelines = '30000'] = process.argv.slice(2);
if (other === undefined) {
  process.stderr.write('usage: node bench/ab.ts <other tree> [rounds] [pipelines]\n');
  process.exit(2);
}
const url = pathToFileURL(resolve(other, 'bench/pipeline.ts')).href;
const before = (await import(url)) as { runPipelines: Run };
const n = Number(pipelines);
const rows = { other: [] as number[], here: [] as number[], herePartitions2: [] as number[] };
for (let r = 1; r <= Number(rounds); r++) {
  rows.other.push((await before.runPipelines(n, 1_000, 2_000)).hopsPerSecond);
  rows.here.push((await runPipelines(n, 1_000, 2_000)).hopsPerSecond);
  rows.herePartitions2.push((await runPipelines(n, 1_000, 2_000, undefined, 2)).hopsPerSecond);
  process.stderr.write(
    `round ${r}: ${rows.other.at(-1)} · ${rows.here.at(-1)} · ${rows.herePartitions2.at(-1)}\n`,
  );
}
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const medians = {
  other: median(rows.other),
  here: median(rows.here),
  herePartitions2: median(rows.herePartitions2),
};
process.stdout.write(`${JSON.stringify({ pipelines: n, rows, medians }, null, 2)}\n`);
