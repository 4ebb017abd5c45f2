// Meshwarden end to end: three-agent pipelines through the whole runtime with the durable ledger.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  ledgerEntries: number;
};

/**
 * Injects `pipelines` roots, at most `inFlight` pipelines unfinished at a time, and waits for
 * quiescence with the ledger flushed. A pipeline's latency runs from its inject to the moment the
 * last agent's handler is done: with many in flight it is mostly queueing, with few it is the cost
 * of three durable hops. `durability` overrides the bench mesh's (the default, `full`), as
 * `--durability` does; `partitions` picks the mesh run by one partition or by two; `telemetry`, when given, is the mesh's.
 */
export async function runPipelines(
  pipelines: number,
  entities: number,
  inFlight: number,
  durability?: Durability,
  partitions: 1 | 2 = 1,
  telemetry?: MeshTelemetry,
): Promise<PipelineResult> {
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
    const latencies: number[] = [];
    let wake: (() => void) | undefined;
    o.mesh.onEvent((event) => {
      if (event.type !== 'delivered' || !event.agent.startsWith('three@')) return;
      const start = startedAt.get(event.correlationid);
      if (start !== undefined) latencies.push(performance.now() - start);
      wake?.();
    });
    const started = performance.now();
    for (let i = 0; i < pipelines; i++) {
      // Never more than `inFlight` pipelines unfinished.
      while (i - latencies.length >= inFlight) {
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
    await o.mesh.idle();
    await o.ledger.flush();
    const seconds = (performance.now() - started) / 1_000;
    const c = o.mesh.counts();
    if (c.messages.denied + c.messages.held + c.messages.quarantined > 0) {
      throw new Error(`unexpected verdicts: ${JSON.stringify(c)}`);
    }
    latencies.sort((a, b) => a - b);
    return {
      pipelines,
      entities,
      hops: c.messages.admitted,
      seconds: round(seconds, 3),
      hopsPerSecond: Math.round(c.messages.admitted / seconds),
      pipelinesPerSecond: Math.round(pipelines / seconds),
      pipelineP50ms: round(quantile(latencies, 0.5), 2),
      pipelineP99ms: round(quantile(latencies, 0.99), 2),
      ledgerEntries: await o.ledger.count(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
