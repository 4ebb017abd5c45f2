// Shared driver for the peer benchmarks: runs `pipelines` pipelines with at most `inFlight`
// unfinished at a time and measures each one's latency from start to end.
import { quantile, round } from '../stats.ts';

export type PeerResult = {
  pipelines: number;
  seconds: number;
  pipelinesPerSecond: number;
  p50ms: number;
  p99ms: number;
};

/** A pipeline of the three trivial steps (+1, ×2, no-op) on `{ value: i }`; resolves to the final value. */
export type Pipeline = (i: number) => Promise<number>;

/**
 * Suggested untimed warm-up before the measured pipelines (plain, LangGraph and Mastra use it).
 * Mastra needs tens of thousands of runs before V8 has optimized its engine (about 10,000/s cold,
 * 20,000/s warm); warm peers are the conservative comparison for Meshwarden.
 */
export const WARMUP_MS = 1_500;

/**
 * Calls `pipeline(i)` for i = 0 … pipelines-1, never more than `inFlight` unfinished at a time.
 * Each result must equal `(i + 1) * 2`; anything else throws, so a silently failing peer is not
 * counted as fast. Latency runs from the call to the moment its promise settles. Before that,
 * pipelines run untimed (same checks, same `inFlight`, indices from 0 again) for `warmupMs`
 * (default none).
 */
export async function drive(
  pipelines: number,
  inFlight: number,
  pipeline: Pipeline,
  warmupMs = 0,
): Promise<PeerResult> {
  if (warmupMs > 0) {
    const until = performance.now() + warmupMs;
    await pump(Number.POSITIVE_INFINITY, inFlight, pipeline, until);
  }
  const latencies = new Float64Array(pipelines);
  const started = performance.now();
  await pump(pipelines, inFlight, pipeline, Number.POSITIVE_INFINITY, latencies);
  const seconds = (performance.now() - started) / 1_000;
  latencies.sort();
  return {
    pipelines,
    seconds: round(seconds, 3),
    pipelinesPerSecond: Math.round(pipelines / seconds),
    p50ms: round(quantile(latencies, 0.5), 3),
    p99ms: round(quantile(latencies, 0.99), 3),
  };
}

/** `inFlight` workers, each starting its next pipeline as soon as its previous one is done. */
async function pump(
  pipelines: number,
  inFlight: number,
  pipeline: Pipeline,
  until: number,
  latencies?: Float64Array,
): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < pipelines && failure === undefined && performance.now() < until) {
      const i = next++;
      const t = performance.now();
      try {
        const value = await pipeline(i);
        if (value !== (i + 1) * 2) throw new Error(`pipeline ${i}: expected ${(i + 1) * 2}, got ${value}`);
      } catch (error) {
        failure ??= error;
        return;
      }
      if (latencies) latencies[i] = performance.now() - t;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, pipelines) }, worker));
  if (failure !== undefined) throw failure;
}

/** For `node bench/peers/<name>.ts`: 5,000 pipelines with 2,000 and with 4 in flight. */
export async function selfCheck(
  name: string,
  run: (pipelines: number, inFlight: number) => Promise<PeerResult>,
): Promise<void> {
  for (const inFlight of [2_000, 4]) {
    const result = await run(5_000, inFlight);
    process.stdout.write(`${name}, ${inFlight} in flight: ${JSON.stringify(result)}\n`);
  }
}
