// Telemetry's span path alone, without a mesh: decisions handed to `createTelemetry` (every one a
// span, OTLP/HTTP protobuf to a loopback receiver in a process of its own, which counts them), 1,000
// a turn as a busy mesh hands them over. Prints the process's CPU per decision (every thread:
// sampling, span, encoding, export) and the time `decision()` itself takes, best of the rounds, and
// writes bench/results/telemetry-path.json. Run after `npm run build`:
//   node bench/telemetry-path.ts [decisions=100000] [rounds=6]
// MESHWARDEN_DIST=/path/to/another/dist times another build (a copy of dist/ made before a change),
// for a before and after in turns on the same machine.

import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as TelemetryModule from '../dist/telemetry/index.js';
import { decisionOf } from './decisions.ts';
import { round } from './stats.ts';
import { startOtlpReceiver } from './telemetry.ts';

const decisions = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 6);
const dist = process.env.MESHWARDEN_DIST;
const { createTelemetry, telemetryConfig }: typeof TelemetryModule = await import(
  dist === undefined ? '../dist/telemetry/index.js' : pathToFileURL(resolve(dist, 'telemetry/index.js')).href
);

const made = Array.from({ length: decisions }, (_, i) => decisionOf(i));
const receiver = await startOtlpReceiver();
const config = telemetryConfig({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
  OTEL_BSP_MAX_QUEUE_SIZE: String(2 * decisions),
  OTEL_BSP_SCHEDULE_DELAY: '500',
  OTEL_METRICS_EXPORTER: 'none',
});
if (config === undefined || config instanceof Error) throw new Error(`telemetry config: ${String(config)}`);

let cpu = Number.POSITIVE_INFINITY;
let handOver = Number.POSITIVE_INFINITY;
for (let r = 1; r <= rounds; r++) {
  const telemetry = createTelemetry({ config, version: 'bench' });
  const before = process.cpuUsage();
  const began = performance.now();
  for (let i = 0; i < decisions; i++) {
    telemetry.decision(made[i]!);
    if (i % 1_000 === 999) await new Promise((next) => setImmediate(next));
  }
  const took = performance.now() - began;
  await telemetry.close();
  const used = process.cpuUsage(before);
  const measured = { cpu: (used.user + used.system) / decisions, handOver: (took * 1000) / decisions };
  cpu = Math.min(cpu, measured.cpu);
  handOver = Math.min(handOver, measured.handOver);
  process.stderr.write(
    `round ${r}/${rounds}: ${measured.cpu.toFixed(2)} µs of CPU a decision, decision() ${measured.handOver.toFixed(2)} µs\n`,
  );
}
const got = await receiver.close();
if (got.spans !== decisions * rounds)
  throw new Error(`${got.spans} of ${decisions * rounds} spans reached the receiver`);

const result = {
  decisions,
  rounds,
  build: dist ?? 'dist',
  cpuUsPerDecision: round(cpu, 2),
  decisionCallUs: round(handOver, 2),
  bytesPerSpan: Math.round(got.bytes / got.spans),
};
console.log(
  `telemetry span path (best of ${rounds}, ${decisions.toLocaleString('en')} decisions, every one exported): ${result.cpuUsPerDecision} µs of CPU a decision, decision() ${result.decisionCallUs} µs`,
);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/telemetry-path.json', import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);
