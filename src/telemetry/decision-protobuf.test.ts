import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { caseTraceparent, type Envelope } from '../envelope/index.js';
import { encodeDecisionSpans } from './decision-protobuf.js';
import { decisionSpan } from './decision-span.js';
import { type TelemetryDecision, traceOf } from './spans.js';

const uuid = fc.uuid({ version: 7 });
/** Text as decisions carry it: mostly ASCII, sometimes any code point, lone surrogates included. */
const text = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: fc.constantFrom('\ud800', 'é', '€', '𝄞', 'a'), maxLength: 300 }),
);

const envelope: fc.Arbitrary<Envelope> = fc
  .record(
    {
      id: fc.oneof(uuid, text),
      correlationid: fc.oneof(uuid, text),
      causationid: fc.oneof(uuid, text),
      source: fc.oneof(
        fc.constantFrom('mesh://m/churn@2.0.1', 'mesh://m/ingress', 'mesh://other/credit@10.1.0-beta'),
        text,
      ),
      type: text,
      subject: text,
      // Now and then past what the encoder writes (a whole number below 2^31): the official serializer's.
      hop: fc.oneof(fc.nat({ max: 100_000 }), fc.constantFrom(2 ** 31 - 1, 2 ** 31, 2 ** 40)),
      target: text,
      model: text,
      agentversion: text,
      callerTrace: fc.boolean(),
      sampled: fc.boolean(),
    },
    { requiredKeys: ['id', 'correlationid', 'source', 'type', 'subject', 'hop', 'callerTrace', 'sampled'] },
  )
  .map(({ callerTrace, sampled, ...e }) => ({
    specversion: '1.0',
    time: '2026-01-01T00:00:00Z',
    data: {},
    ...e,
    traceparent: callerTrace
      ? `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0${sampled ? 1 : 0}`
      : caseTraceparent(e.correlationid, e.id),
  }));

const decision: fc.Arbitrary<TelemetryDecision> = fc
  .record(
    {
      msgId: fc.oneof(uuid, text),
      gated: fc.constantFrom('message' as const, 'effect' as const),
      verdict: fc.record(
        {
          decision: fc.constantFrom(
            'deliver' as const,
            'deny' as const,
            'hold' as const,
            'quarantine' as const,
          ),
          stage: fc.constantFrom('gate', 'rate-limit', 'loop', 'approval', 'ingress'),
          rule: text,
          reason: text,
          // A detail long enough to need a three-byte span length now and then.
          detail: fc.oneof(text, fc.string({ minLength: 17_000, maxLength: 17_100 })),
        },
        { requiredKeys: ['decision', 'stage', 'reason'] },
      ),
      envelope: fc.option(envelope, { nil: undefined, freq: 8 }),
      sender: fc.constantFrom('agent' as const, 'ingress' as const, 'unknown' as const),
      policyDigest: fc
        .string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 })
        .map((h) => `sha256:${h}`),
      startedAt: fc.double({ min: 0, max: 1e9, noNaN: true }),
      durationMs: fc.double({ min: 0, max: 10_000, noNaN: true }),
      release: fc.boolean(),
    },
    { requiredKeys: ['msgId', 'gated', 'verdict', 'envelope', 'policyDigest', 'startedAt'] },
  )
  .map((d) => ({ ...d, msgId: d.envelope?.id ?? d.msgId }));

const resource = resourceFromAttributes({
  'service.name': 'meshwarden',
  'service.version': '0.1.0',
  'deployment.environment.name': 'prod – eu',
  'meshwarden.mesh': 'retention',
});
const scope = { name: 'meshwarden', version: '0.1.0' };
/** Where two encodings first differ (-1: the same bytes), so a failure says where, not 100 KB of diff. */
function firstDifference(ours: Uint8Array | undefined, official: Uint8Array | undefined): number {
  if (ours === undefined || official === undefined) return 0;
  const n = Math.max(ours.length, official.length);
  for (let i = 0; i < n; i++) if (ours[i] !== official[i]) return i;
  return -1;
}

/** `d`'s envelope, or a plain one for a decision without. */
const envelopeOf = (d: TelemetryDecision): Envelope =>
  d.envelope ?? fc.sample(envelope, { numRuns: 1, seed: 5 })[0]!;

const spansOf = (ds: readonly TelemetryDecision[]) =>
  ds.map((d) => decisionSpan(d, traceOf(d), resource, scope));

describe('decision spans as OTLP protobuf', () => {
  it('writes the bytes the official serializer writes for the same spans', () => {
    fc.assert(
      fc.property(fc.array(decision, { minLength: 1, maxLength: 40 }), (ds) => {
        const spans = spansOf(ds);
        const ours = encodeDecisionSpans(spans);
        // A hop the encoder does not write leaves the whole batch to the official serializer.
        if (ds.some((d) => (d.envelope?.hop ?? 0) >= 2 ** 31)) expect(ours).toBeUndefined();
        else expect(firstDifference(ours, ProtobufTraceSerializer.serializeRequest(spans))).toBe(-1);
      }),
      { numRuns: 150 },
    );
  });

  it('writes a batch far past its first buffer, and the next batch from a clean start', () => {
    const many = fc
      .sample(decision, { numRuns: 600, seed: 7 })
      .filter((d) => (d.envelope?.hop ?? 0) < 2 ** 31);
    const spans = spansOf(many);
    const official = ProtobufTraceSerializer.serializeRequest(spans);
    expect(official!.length).toBeGreaterThan(1 << 17);
    const big = encodeDecisionSpans(spans);
    expect(firstDifference(big, official)).toBe(-1);
    const few = spansOf(many.slice(0, 3));
    expect(firstDifference(encodeDecisionSpans(few), ProtobufTraceSerializer.serializeRequest(few))).toBe(-1);
    // The first batch's bytes are its own: an export still in flight (or retried) is not rewritten.
    expect(firstDifference(big, official)).toBe(-1);
  });

  it('leaves to the official serializer what it does not write: other resources, other values', () => {
    const [a, b] = fc.sample(decision, { numRuns: 2, seed: 3 }) as [TelemetryDecision, TelemetryDecision];
    const other = resourceFromAttributes({ 'service.name': 'other' });
    const mixed = [decisionSpan(a, traceOf(a), resource, scope), decisionSpan(b, traceOf(b), other, scope)];
    expect(encodeDecisionSpans(mixed)).toBeUndefined();
    const listed = resourceFromAttributes({ 'service.name': 'x', 'host.ip': ['10.0.0.1', '10.0.0.2'] });
    expect(encodeDecisionSpans([decisionSpan(a, traceOf(a), listed, scope)])).toBeUndefined();
    const scoped = { name: 'meshwarden', version: '0.1.0', attributes: { team: 'growth' } };
    expect(encodeDecisionSpans([decisionSpan(a, traceOf(a), resource, scoped)])).toBeUndefined();
    const negative = resourceFromAttributes({ 'service.name': 'x', offset: -1 });
    expect(encodeDecisionSpans([decisionSpan(a, traceOf(a), negative, scope)])).toBeUndefined();
    // Text the types promise but a caller did not give: handed on, not thrown out of the export.
    const e = envelopeOf(a);
    for (const ill of [
      { ...a, envelope: { ...e, subject: undefined } },
      { ...a, envelope: { ...e, target: null } },
      { ...a, verdict: { ...a.verdict, stage: 7 } },
    ] as unknown as TelemetryDecision[])
      expect(encodeDecisionSpans([decisionSpan(ill, traceOf(ill), resource, scope)])).toBeUndefined();
  });
});
