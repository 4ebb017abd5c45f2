// What a guarded hop allocates: a sampling heap profile (every 512 bytes on average, the objects the
// garbage collector took included) of the bench's pipelines through the runtime, warm (after one
// run of the same size), printed as bytes per hop in all and by the function that allocated them.
// Unlike hops/s, it does not move with a shared machine's load. Run after `npm run build`:
//   node bench/alloc.ts [pipelines=20000] [rows=30] [--telemetry]
// --telemetry: every decision traced, exported over OTLP/HTTP protobuf to a loopback receiver.
// `node --no-turbo-inlining bench/alloc.ts` names the functions more sharply (fewer are inlined).
import { Session } from 'node:inspector/promises';
import { createTelemetry, telemetryConfig } from '../dist/telemetry/index.js';
import { runPipelines } from './pipeline.ts';
import { startOtlpReceiver } from './telemetry.ts';

const args = process.argv.slice(2).filter((a) => a !== '--telemetry');
const traced = process.argv.includes('--telemetry');
const pipelines = Number(args[0] ?? 20_000);
const rows = Number(args[1] ?? 30);

type ProfileNode = {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
};

const receiver = traced ? await startOtlpReceiver() : undefined;
const config =
  receiver === undefined
    ? undefined
    : telemetryConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_BSP_MAX_QUEUE_SIZE: String(pipelines * 3),
        OTEL_BSP_SCHEDULE_DELAY: '500',
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
      });
if (config instanceof Error) throw config;

const run = async () => {
  const telemetry = config === undefined ? undefined : createTelemetry({ config, version: 'bench' });
  const result = await runPipelines(pipelines, 1_000, 2_000, { telemetry });
  await telemetry?.close();
  return result;
};

await run(); // warm: the runtime compiled, its caches filled
const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 512,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
const { hops } = await run();
const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: ProfileNode } };
session.disconnect();
await receiver?.close();

const byFunction = new Map<string, number>();
let total = 0;
const walk = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = (url || '(native)').replace(/^.*\/(node_modules|dist|bench)\//, '$1/');
  const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize);
  total += node.selfSize;
  for (const child of node.children) walk(child);
};
walk(profile.head);

process.stdout.write(
  `${pipelines.toLocaleString('en')} pipelines, ${hops.toLocaleString('en')} hops${traced ? ', every decision traced' : ''}: ${Math.round(total / hops).toLocaleString('en')} bytes allocated per hop\n`,
);
for (const [key, bytes] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, rows))
  process.stdout.write(`${String(Math.round(bytes / hops)).padStart(7)}  ${key}\n`);
