// Decision spans to OTLP protobuf: Meshwarden's encoder (src/telemetry/decision-protobuf.ts) against
// the official serializer (otlp-transformer's ProtobufTraceSerializer), on the same spans in batches
// of 512 (the batch processor's default), alternating, after a warm-up. Run after `npm run build`:
//   node bench/span-encoding.ts [spans=200000] [rounds=5]
// Prints µs per span for each, best of the rounds, and writes bench/results/span-encoding.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { encodeDecisionSpans } from '../dist/telemetry/decision-protobuf.js';
import { type DecisionSpan, decisionSpan } from '../dist/telemetry/decision-span.js';
import { traceOf } from '../dist/telemetry/spans.js';
import { decisionOf } from './decisions.ts';
import { round } from './stats.ts';

const spans = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 5);
const BATCH = 512;

const resource = resourceFromAttributes({ 'service.name': 'meshwarden', 'service.version': '0.1.0' });
const scope = { name: 'meshwarden', version: '0.1.0' };
const made: DecisionSpan[] = Array.from({ length: spans }, (_, i) => {
  const d = decisionOf(i);
  return decisionSpan(d, traceOf(d), resource, scope);
});
const batches: DecisionSpan[][] = [];
for (let i = 0; i < made.length; i += BATCH) batches.push(made.slice(i, i + BATCH));

/** µs per span to encode every batch once; the bytes are checked to be the official ones. */
function time(encode: (batch: DecisionSpan[]) => Uint8Array | undefined): { us: number; bytes: number } {
  let bytes = 0;
  const began = performance.now();
  for (const batch of batches) bytes += encode(batch)?.length ?? 0;
  return { us: ((performance.now() - began) * 1000) / spans, bytes };
}

const ours = (b: DecisionSpan[]) => encodeDecisionSpans(b);
const official = (b: DecisionSpan[]) => ProtobufTraceSerializer.serializeRequest(b);
const first = batches[0]!;
if (Buffer.compare(Buffer.from(ours(first)!), Buffer.from(official(first)!)) !== 0)
  throw new Error('the two encodings differ: run src/telemetry/decision-protobuf.test.ts');

time(ours);
time(official);
let best = { ours: Number.POSITIVE_INFINITY, official: Number.POSITIVE_INFINITY };
let bytesPerSpan = 0;
for (let r = 0; r < rounds; r++) {
  const a = time(ours);
  const b = time(official);
  best = { ours: Math.min(best.ours, a.us), official: Math.min(best.official, b.us) };
  bytesPerSpan = a.bytes / spans;
  process.stderr.write(
    `round ${r + 1}/${rounds}: ours ${a.us.toFixed(2)} µs, official ${b.us.toFixed(2)} µs\n`,
  );
}
const result = {
  spans,
  batch: BATCH,
  rounds,
  oursUsPerSpan: round(best.ours, 2),
  officialUsPerSpan: round(best.official, 2),
  ratio: round(best.ours / best.official, 3),
  bytesPerSpan: Math.round(bytesPerSpan),
};
console.log(
  `decision span to OTLP protobuf, µs per span (best of ${rounds}): Meshwarden ${result.oursUsPerSpan}, official ${result.officialUsPerSpan} (ratio ${result.ratio}), ${result.bytesPerSpan} bytes a span`,
);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/span-encoding.json', import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);
