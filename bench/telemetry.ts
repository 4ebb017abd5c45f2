// Telemetry's cost: guarded hops/s with OpenTelemetry on (every decision a span, every metric
// recorded, exported over OTLP/HTTP protobuf to a loopback receiver that accepts and discards)
// against off, in the same run. Off and on alternate, and each side keeps its best run, so the
// ratio compares like with like on a shared machine.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTelemetry, telemetryConfig } from '../dist/telemetry/index.js';
import { type PipelineResult, runPipelines } from './pipeline.ts';
import { round } from './stats.ts';

export type TelemetryOverhead = {
  pipelines: number;
  rounds: number;
  offHopsPerSecond: number;
  onHopsPerSecond: number;
  /** on / off: 1 is free; the target is ≥ 0.9 (at most 10 % slower). */
  ratio: number;
  /** What the receiver took in, on runs: proof the spans and metrics really left the process. */
  exportRequests: number;
  exportBytes: number;
  env: Record<string, string>;
};

export async function telemetryOverhead(
  pipelines: number,
  rounds: number,
  progress: (text: string) => void,
): Promise<TelemetryOverhead> {
  const receiver = await startOtlpReceiver();
  try {
    return await measure(receiver, pipelines, rounds, progress);
  } finally {
    await receiver.close();
  }
}

/** An OTLP/HTTP receiver on loopback that accepts everything and keeps nothing but counts. */
async function startOtlpReceiver() {
  const count = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      count.bytes += chunk.length;
    });
    req.on('end', () => {
      count.requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function measure(
  receiver: Awaited<ReturnType<typeof startOtlpReceiver>>,
  pipelines: number,
  rounds: number,
  progress: (text: string) => void,
): Promise<TelemetryOverhead> {
  // Every span kept and exported (a queue the run never overflows), metrics every second.
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_BSP_MAX_QUEUE_SIZE: String(Math.max(2048, pipelines * 3)),
    OTEL_BSP_SCHEDULE_DELAY: '500',
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
  };
  const config = telemetryConfig(env);
  if (config === undefined || config instanceof Error) throw new Error(`telemetry config: ${String(config)}`);
  let off: PipelineResult | undefined;
  let on: PipelineResult | undefined;
  for (let r = 1; r <= rounds; r++) {
    progress(
      `telemetry: round ${r}/${rounds}, ${pipelines.toLocaleString('en')} pipelines off, then on (OTLP to loopback) …`,
    );
    const a = await runPipelines(pipelines, 1_000, 2_000);
    if (off === undefined || a.hopsPerSecond > off.hopsPerSecond) off = a;
    const telemetry = createTelemetry({ config, version: 'bench' });
    const b = await runPipelines(pipelines, 1_000, 2_000, undefined, 1, telemetry);
    // The export is part of the cost: the run is timed without it, but the next one runs after it.
    await telemetry.close();
    if (on === undefined || b.hopsPerSecond > on.hopsPerSecond) on = b;
  }
  return {
    pipelines,
    rounds,
    offHopsPerSecond: off!.hopsPerSecond,
    onHopsPerSecond: on!.hopsPerSecond,
    ratio: round(on!.hopsPerSecond / off!.hopsPerSecond, 3),
    exportRequests: receiver.count.requests,
    exportBytes: receiver.count.bytes,
    env: { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:<port>' },
  };
}
