// Telemetry's cost: guarded hops/s and CPU per hop with OpenTelemetry on (each configuration's
// OTEL_* settings; every decision a span, unless a sampler says otherwise, exported over OTLP/HTTP
// protobuf to a loopback receiver that counts spans and keeps nothing) against off, in the same run.
// Off and the configurations are interleaved, in a different order each round, and each keeps its
// best, so the ratios compare like with like on a shared machine.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
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
  /**
   * CPU time of this process (every thread: the gate's, the ledger's commit worker, the export) per
   * guarded hop, least of the rounds, off and on; on a shared machine it moves less than hops/s.
   */
  offCpuUsPerHop: number;
  onCpuUsPerHop: number;
  /** off / on CPU per hop: the share of the machine's work a hop still gets, telemetry on. */
  cpuRatio: number;
  /** What the receiver took in, on runs: proof the spans and metrics really left the process. */
  exportRequests: number;
  exportBytes: number;
  /**
   * Decision spans the receiver decoded, against the decisions of the "on" runs: every decision is
   * traced unless a sampler says otherwise, and a run whose spans did not all arrive did less work
   * than it claims, so it fails the bench instead of looking cheap.
   */
  exportedSpans: number;
  tracedDecisions: number;
  env: Record<string, string>;
};

/**
 * Several telemetry configurations (each `OTEL_*` settings over the bench's defaults) against off,
 * interleaved: each round runs off, then every configuration, so all of them meet the same machine
 * (on a shared machine, runs minutes apart can differ by a third). Each configuration exports to a
 * receiver of its own, which checks its spans.
 */
export async function telemetryOverheads<K extends string>(
  pipelines: number,
  rounds: number,
  progress: (text: string) => void,
  variants: Record<K, Record<string, string>>,
): Promise<Record<K, TelemetryOverhead>> {
  const names = Object.keys(variants) as K[];
  const receivers = await Promise.all(names.map(() => startOtlpReceiver()));
  const closeAll = () => Promise.all(receivers.map((r) => r.close()));
  let measured: Record<K, Measured>;
  try {
    measured = await measure(names, variants, receivers, pipelines, rounds, progress);
  } catch (err) {
    await closeAll();
    throw err;
  }
  const received = await closeAll();
  const out = {} as Record<K, TelemetryOverhead>;
  for (const [i, name] of names.entries()) {
    const result = measured[name];
    const got = received[i]!;
    // The receiver counts plain protobuf: a run asked for JSON or gzip is not checked.
    const { env } = result;
    const everySpan =
      (env.OTEL_TRACES_SAMPLER ?? 'always_on').endsWith('always_on') &&
      env.OTEL_TRACES_EXPORTER !== 'none' &&
      env.OTEL_EXPORTER_OTLP_PROTOCOL === 'http/protobuf' &&
      (env.OTEL_EXPORTER_OTLP_COMPRESSION ?? 'none') === 'none';
    if (everySpan && got.spans !== result.tracedDecisions)
      throw new Error(
        `telemetry (${name}): ${got.spans} of ${result.tracedDecisions} decision spans reached the receiver`,
      );
    out[name] = { ...result, exportRequests: got.requests, exportBytes: got.bytes, exportedSpans: got.spans };
  }
  return out;
}

/**
 * An OTLP/HTTP receiver on loopback, in a process of its own as a collector would be, that accepts
 * everything and keeps nothing; it reports the requests and bytes it took in when asked to stop.
 */
const RECEIVER = `
const http = require('node:http');
let requests = 0, bytes = 0, spans = 0;
// Protobuf fields of one message: calls found(field, start, end) for each length-delimited field.
function fields(buf, start, end, found) {
  let at = start;
  const varint = () => { let n = 0, shift = 1, b; do { b = buf[at++]; n += (b & 0x7f) * shift; shift *= 128; } while (b >= 0x80); return n; };
  while (at < end) {
    const tag = varint(), wire = tag & 7;
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else { const len = varint(); found(tag >>> 3, at, at + len); at += len; }
  }
}
// ExportTraceServiceRequest.resource_spans (1) > ResourceSpans.scope_spans (2) > ScopeSpans.spans (2).
const countSpans = (buf) => fields(buf, 0, buf.length, (f, s, e) => f === 1 && fields(buf, s, e, (f, s, e) =>
  f === 2 && fields(buf, s, e, (f) => { if (f === 2) spans++; })));
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => { bytes += c.length; chunks.push(c); });
  req.on('end', () => {
    requests++;
    if (req.url === '/v1/traces') countSpans(Buffer.concat(chunks));
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('end', () => { process.stdout.write(JSON.stringify({ requests, bytes, spans }) + '\\n'); process.exit(0); });
process.stdin.resume();
`;

export async function startOtlpReceiver() {
  const child = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const port = Number((await lines.next()).value);
  return {
    url: `http://127.0.0.1:${port}`,
    async close(): Promise<{ requests: number; bytes: number; spans: number }> {
      child.stdin.end();
      return JSON.parse((await lines.next()).value as string);
    },
  };
}

type Measured = Omit<TelemetryOverhead, 'exportRequests' | 'exportBytes' | 'exportedSpans'>;

async function measure<K extends string>(
  names: readonly K[],
  variants: Record<K, Record<string, string>>,
  receivers: readonly Awaited<ReturnType<typeof startOtlpReceiver>>[],
  pipelines: number,
  rounds: number,
  progress: (text: string) => void,
): Promise<Record<K, Measured>> {
  // Every span kept and exported (a queue the run never overflows), metrics every second.
  const envs = names.map((name, i) => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: receivers[i]!.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_BSP_MAX_QUEUE_SIZE: String(Math.max(2048, pipelines * 3)),
    OTEL_BSP_SCHEDULE_DELAY: '500',
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
    ...variants[name],
  }));
  const configs = envs.map((env) => {
    const config = telemetryConfig(env);
    if (config === undefined || config instanceof Error)
      throw new Error(`telemetry config: ${String(config)}`);
    return config;
  });
  /** The run and its CPU time per hop, in µs, for this process's threads. */
  const timed = async (run: () => Promise<PipelineResult>) => {
    const before = process.cpuUsage();
    const result = await run();
    const used = process.cpuUsage(before);
    return { result, cpu: (used.user + used.system) / result.hops };
  };
  let offHops = 0;
  let offCpu = Number.POSITIVE_INFINITY;
  const on = names.map(() => ({ hops: 0, cpu: Number.POSITIVE_INFINITY, traced: 0 }));
  for (let r = 1; r <= rounds; r++) {
    progress(
      `telemetry: round ${r}/${rounds}, ${pipelines.toLocaleString('en')} pipelines off, then ${names.join(', ')} (OTLP to loopback) …`,
    );
    const a = await timed(() => runPipelines(pipelines, 1_000, 2_000));
    offHops = Math.max(offHops, a.result.hopsPerSecond);
    offCpu = Math.min(offCpu, a.cpu);
    // Each round starts from another configuration: none always runs right after off.
    const order = configs.map((_, i) => (i + r - 1) % configs.length);
    for (const i of order) {
      const config = configs[i]!;
      const telemetry = createTelemetry({ config, version: 'bench' });
      // The last export (close) counts in the CPU time, not in hops/s: the run is over by then.
      const b = await timed(async () => {
        const result = await runPipelines(pipelines, 1_000, 2_000, { telemetry });
        await telemetry.close();
        return result;
      });
      const side = on[i]!;
      side.hops = Math.max(side.hops, b.result.hopsPerSecond);
      side.cpu = Math.min(side.cpu, b.cpu);
      side.traced += b.result.hops;
    }
  }
  const out = {} as Record<K, Measured>;
  for (const [i, name] of names.entries()) {
    const side = on[i]!;
    out[name] = {
      pipelines,
      rounds,
      offHopsPerSecond: offHops,
      onHopsPerSecond: side.hops,
      ratio: round(side.hops / offHops, 3),
      offCpuUsPerHop: round(offCpu, 1),
      onCpuUsPerHop: round(side.cpu, 1),
      cpuRatio: round(offCpu / side.cpu, 3),
      tracedDecisions: side.traced,
      env: { ...envs[i]!, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:<port>' },
    };
  }
  return out;
}
