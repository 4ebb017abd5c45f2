// Meshwarden end to end: three-agent pipelines through the whole runtime with the durable ledger.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { type Durability, type MeshTelemetry, openMesh } from '../dist/runtime/index.js';
import { quantile, round } from './stats.ts';

/** The bench mesh, run by one partition, or by two in one process (mesh-p2.yaml: `partitions: 2`). */
const meshFiles = {
  1: new URL('./mesh/mesh.yaml', import.meta.url).pathname,
  2: new URL('./mesh/mesh-p2.yaml', import.meta.url).pathname,
} as const;

export type PipelineResult = {
  pipelines: number;
  entities: number;
  hops: number;
  seconds: number;
  hopsPerSecond: number;
  pipelinesPerSecond: number;
  pipelineP50ms: number;
  pipelineP99ms: number;
  /** The ledger's entries at the end, the warm-up's included. */
  ledgerEntries: number;
  /**
   * How late the event loop ran a 5 ms timer while the pipelines ran, p99 and max: what a timer, an
   * API request or a telemetry export waited for under this load.
   */
  loopDelayP99ms: number;
  loopDelayMaxMs: number;
};

/** What a run may change from the bench's defaults. */
export type PipelineOptions = {
  /** Overrides the bench mesh's (the default, `full`), as `--durability` does. */
  readonly durability?: Durability;
  /** The mesh run by one partition, or by two in one process. */
  readonly partitions?: 1 | 2;
  /** The mesh's telemetry, when given. */
  readonly telemetry?: MeshTelemetry;
  /**
   * Pipelines run on the same mesh first, untimed, until it is idle: what is timed is then a mesh
   * that has run for a while (code optimized for it, a ledger that has grown), as a mesh that runs
   * for days is. Each run opens a mesh of its own, and V8 throws away what it optimized for an
   * earlier one (docs/performance.md, sixth pass), so the process's second run is not yet warm.
   */
  readonly warmup?: number;
};

/**
 * Injects `pipelines` roots, at most `inFlight` pipelines unfinished at a time, and waits for
 * quiescence with the ledger flushed. A pipeline's latency runs from its inject to the moment the
 * last agent's handler is done: with many in flight it is mostly queueing, with few it is the cost
 * of three durable hops.
 */
export async function runPipelines(
  pipelines: number,
  entities: number,
  inFlight: number,
  opts: PipelineOptions = {},
): Promise<PipelineResult> {
  const { durability, partitions = 1, telemetry, warmup = 0 } = opts;
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-bench-'));
  try {
    const opened = await openMesh({
      meshFile: meshFiles[partitions],
      dataDir: dir,
      log: pino({ level: 'silent' }),
      ...(durability === undefined ? {} : { durability }),
      ...(telemetry === undefined ? {} : { telemetry }),
    });
    if (!opened.ok) throw new Error(`bench mesh failed to open: ${JSON.stringify(opened)}`);
    await using o = opened.opened;
    const startedAt = new Map<string, number>();
    let latencies: number[] = [];
    let finished = 0;
    let wake: (() => void) | undefined;
    o.mesh.onEvent((event) => {
      if (event.type !== 'delivered' || !event.agent.startsWith('three@')) return;
      const start = startedAt.get(event.correlationid);
      if (start !== undefined) {
        startedAt.delete(event.correlationid);
        latencies.push(performance.now() - start);
        finished++;
      }
      wake?.();
    });
    /** Injects roots `from` to `from + count`, never more than `inFlight` pipelines unfinished. */
    const drive = async (from: number, count: number) => {
      for (let i = from; i < from + count; i++) {
        while (i - finished >= inFlight) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
        const t = performance.now();
        const done = o.mesh.inject('feed', {
          type: 'step.one.v1',
          subject: `entity:${i % entities}`,
          data: { value: i },
        });
        done.then(
          (entry) => startedAt.set(entry.msgId ?? '', t),
          () => {},
        );
      }
    };
    if (warmup > 0) {
      await drive(0, warmup);
      await o.mesh.idle();
      await o.ledger.flush();
      latencies = [];
    }
    const admittedBefore = o.mesh.counts().messages.admitted;
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const started = performance.now();
    await drive(warmup, pipelines);
    await o.mesh.idle();
    await o.ledger.flush();
    const seconds = (performance.now() - started) / 1_000;
    loop.disable();
    const c = o.mesh.counts();
    if (c.messages.denied + c.messages.held + c.messages.quarantined > 0) {
      throw new Error(`unexpected verdicts: ${JSON.stringify(c)}`);
    }
    const hops = c.messages.admitted - admittedBefore;
    latencies.sort((a, b) => a - b);
    return {
      pipelines,
      entities,
      hops,
      seconds: round(seconds, 3),
      hopsPerSecond: Math.round(hops / seconds),
      pipelinesPerSecond: Math.round(pipelines / seconds),
      pipelineP50ms: round(quantile(latencies, 0.5), 2),
      pipelineP99ms: round(quantile(latencies, 0.99), 2),
      ledgerEntries: await o.ledger.count(),
      loopDelayP99ms: round(loop.percentile(99) / 1e6, 1),
      loopDelayMaxMs: round(loop.max / 1e6, 1),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
