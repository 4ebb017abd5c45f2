// The price of `ledger.durability: full` (an fsync of the WAL at every commit) against `normal`,
// measured in one run, back to back: the bare durable hop (limit.ts) with SQLite synchronous=FULL
// and NORMAL, and Meshwarden end to end (pipeline.ts) saturated and at light load in each mode.
// Part of `npm run bench`; also runs alone on the built dist/: `node bench/durability.ts [--quick]`
// (writes bench/results/durability.json).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { durableHopLimit } from './limit.ts';
import { type PipelineResult, runPipelines } from './pipeline.ts';
import { round } from './stats.ts';

type Mode = 'full' | 'normal';

export type ModeResult = {
  limitHopsPerSecond: number;
  hopsPerSecond: number;
  pipelineP50ms: number;
  pipelineP99ms: number;
  lightP50ms: number;
  lightP99ms: number;
};

export type DurabilityResult = {
  sizes: { limit: number; pipelines: number; latency: number; rounds: number };
  full: ModeResult;
  normal: ModeResult;
  /** full / normal: below 1 for throughput means full is slower; above 1 for latency, likewise. */
  ratio: { limitHopsPerSecond: number; hopsPerSecond: number; lightP50ms: number; lightP99ms: number };
  /** Every round in the order run, so the spread between rounds of one mode shows. */
  rounds: ({ mode: Mode } & ModeResult)[];
};

const SIZES = {
  quick: { limit: 20_000, pipelines: 5_000, latency: 500, rounds: 1 },
  full: { limit: 100_000, pipelines: 30_000, latency: 3_000, rounds: 2 },
};

/**
 * Each measure runs in both modes; with two rounds in the order full, normal, normal, full, so a
 * machine that speeds up or slows down during the run favours neither, and each mode's figure is
 * the mean of its rounds.
 */
export async function durabilityCost(opts: {
  quick: boolean;
  progress: (text: string) => void;
}): Promise<DurabilityResult> {
  const sizes = opts.quick ? SIZES.quick : SIZES.full;
  const order: Mode[] = sizes.rounds === 1 ? ['full', 'normal'] : ['full', 'normal', 'normal', 'full'];
  const runs: Record<Mode, { limit: number; saturated: PipelineResult; light: PipelineResult }[]> = {
    full: [],
    normal: [],
  };
  const rounds: DurabilityResult['rounds'] = [];
  for (const mode of order) {
    opts.progress(
      `durability ${mode}: ${sizes.limit.toLocaleString('en')} bare hops, ${sizes.pipelines.toLocaleString('en')} pipelines (2,000 in flight), ${sizes.latency.toLocaleString('en')} (4 in flight) …`,
    );
    const limit = durableHopLimit(sizes.limit, mode === 'full' ? 'FULL' : 'NORMAL').hopsPerSecond;
    const saturated = await runPipelines(sizes.pipelines, 1_000, 2_000, { durability: mode });
    const light = await runPipelines(sizes.latency, 1_000, 4, { durability: mode });
    runs[mode].push({ limit, saturated, light });
    rounds.push({
      mode,
      limitHopsPerSecond: limit,
      hopsPerSecond: saturated.hopsPerSecond,
      pipelineP50ms: saturated.pipelineP50ms,
      pipelineP99ms: saturated.pipelineP99ms,
      lightP50ms: light.pipelineP50ms,
      lightP99ms: light.pipelineP99ms,
    });
  }
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const summarize = (mode: Mode): ModeResult => {
    const r = runs[mode];
    return {
      limitHopsPerSecond: Math.round(mean(r.map((x) => x.limit))),
      hopsPerSecond: Math.round(mean(r.map((x) => x.saturated.hopsPerSecond))),
      pipelineP50ms: round(mean(r.map((x) => x.saturated.pipelineP50ms)), 2),
      pipelineP99ms: round(mean(r.map((x) => x.saturated.pipelineP99ms)), 2),
      lightP50ms: round(mean(r.map((x) => x.light.pipelineP50ms)), 2),
      lightP99ms: round(mean(r.map((x) => x.light.pipelineP99ms)), 2),
    };
  };
  const full = summarize('full');
  const normal = summarize('normal');
  const ratio = (k: keyof ModeResult) => round(full[k] / normal[k], 2);
  return {
    sizes,
    full,
    normal,
    ratio: {
      limitHopsPerSecond: ratio('limitHopsPerSecond'),
      hopsPerSecond: ratio('hopsPerSecond'),
      lightP50ms: ratio('lightP50ms'),
      lightP99ms: ratio('lightP99ms'),
    },
    rounds,
  };
}

/** Table rows for run.ts's report. */
export function durabilityRows(d: DurabilityResult): [string, string, string][] {
  const pair = (k: keyof ModeResult) =>
    `${d.full[k].toLocaleString('en')} / ${d.normal[k].toLocaleString('en')}`;
  return [
    [
      'durability full / normal: bare durable hops/s',
      pair('limitHopsPerSecond'),
      `ratio ${d.ratio.limitHopsPerSecond}`,
    ],
    ['durability full / normal: guarded hops/s', pair('hopsPerSecond'), `ratio ${d.ratio.hopsPerSecond}`],
    [
      'durability full / normal: pipeline p50 ms, 4 in flight',
      pair('lightP50ms'),
      `ratio ${d.ratio.lightP50ms}`,
    ],
    [
      'durability full / normal: pipeline p99 ms, 4 in flight',
      pair('lightP99ms'),
      `ratio ${d.ratio.lightP99ms}`,
    ],
  ];
}

if (import.meta.main) {
  const quick = process.argv.includes('--quick');
  const began = performance.now();
  const result = await durabilityCost({
    quick,
    progress: (text) =>
      process.stderr.write(`[${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${text}\n`),
  });
  const out = new URL('./results/', import.meta.url).pathname;
  mkdirSync(out, { recursive: true });
  const seconds = round((performance.now() - began) / 1000, 1);
  const doc = { at: new Date().toISOString(), node: process.version, quick, seconds, durability: result };
  writeFileSync(join(out, 'durability.json'), `${JSON.stringify(doc, null, 2)}\n`);
  const rows = durabilityRows(result);
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [name, value, note] of rows)
    process.stdout.write(`${name.padEnd(width)}  ${value.padStart(22)}  ${note}\n`);
  process.stdout.write(`wrote bench/results/durability.json (${seconds} s)\n`);
}
