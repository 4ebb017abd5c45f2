import { randomUUID } from 'node:crypto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { describe, expect, it } from 'vitest';
import { caseTraceparent, childTraceparent, type Envelope, spanIdOf } from '../envelope/index.js';
import { telemetryConfig } from './config.js';
import { decisionSpan } from './decision-span.js';
import { placeOf, traceOf } from './spans.js';
import { createTelemetry } from './telemetry.js';
import { CHILD, decision, envelope, jsonTraceReceiver, ROOT, receiver } from './test-kit.js';

describe('where a decision span sits', () => {
  const trace = ROOT.replaceAll('-', '');
  it.each([
    {
      what: 'a root: the trace of its case, its own span, no parent',
      d: decision(envelope(ROOT)),
      place: { traceId: trace, spanId: spanIdOf(ROOT), sampled: true },
    },
    {
      what: 'a child: its parent is the decision on its causation',
      d: decision(envelope(CHILD, { hop: 1, causationid: ROOT })),
      place: { traceId: trace, spanId: spanIdOf(CHILD), parentSpanId: spanIdOf(ROOT), sampled: true },
    },
    {
      what: 'a root a caller sent under its own span: that span is the parent',
      d: decision(envelope(ROOT, { traceparent: `00-${trace}-00f067aa0ba902b7-00` })),
      place: {
        traceId: trace,
        spanId: spanIdOf(ROOT),
        parentSpanId: '00f067aa0ba902b7',
        sampled: false,
        remoteParent: true,
      },
    },
  ])('$what', ({ d, place }) => {
    expect(placeOf(d, traceOf(d))).toEqual(place);
  });

  it.each([
    ['none', undefined],
    ['a malformed one', 'not-a-traceparent'],
  ])('an envelope with %s for a traceparent is in its case trace, as its children are', (_, tp) => {
    const carried = { traceparent: tp } as Partial<Envelope>;
    const root = decision(envelope(ROOT, carried));
    const child = decision(
      envelope(CHILD, { hop: 1, causationid: ROOT, traceparent: childTraceparent(tp, CHILD, ROOT) }),
    );
    expect(placeOf(root, traceOf(root))).toEqual({ traceId: trace, spanId: spanIdOf(ROOT), sampled: true });
    expect(traceOf(child).traceId).toBe(trace);
  });

  it("input that never became an envelope is a root of its own, made of its decision's id", () => {
    const id = '01a23cd8-27b5-714f-acc6-291cff3c1fa9';
    const refused = decision(undefined, { msgId: id });
    const place = placeOf(refused, traceOf(refused));
    expect(place).toEqual({ traceId: id.replaceAll('-', ''), spanId: spanIdOf(id), sampled: true });
  });

  it("samples on a decision's trace alone: a caller's span only for a root under one", () => {
    const trace = ROOT.replaceAll('-', '');
    expect(traceOf(decision(envelope(CHILD, { hop: 1, causationid: ROOT })))).toEqual({
      traceId: trace,
      sampled: true,
    });
    const called = decision(envelope(ROOT, { traceparent: `00-${trace}-00f067aa0ba902b7-00` }));
    expect(traceOf(called)).toEqual({ traceId: trace, sampled: false, callerSpanId: '00f067aa0ba902b7' });
    expect(placeOf(called, traceOf(called))).toMatchObject({
      parentSpanId: '00f067aa0ba902b7',
      remoteParent: true,
    });
    // Bit 0 of the flags is the sampled flag, whatever else is set.
    const flagged = decision(envelope(ROOT, { traceparent: `00-${trace}-00f067aa0ba902b7-03` }));
    expect(traceOf(flagged).sampled).toBe(true);
  });

  it("a span's contexts name the ids it is placed at, worked out when read", () => {
    const trace = ROOT.replaceAll('-', '');
    const ds = [
      decision(envelope(ROOT)),
      decision(envelope(CHILD, { hop: 1, causationid: ROOT })),
      decision(envelope(ROOT, { traceparent: `00-${trace}-00f067aa0ba902b7-01` })),
      decision(undefined, { msgId: 'not-a-uuid' }),
    ];
    for (const d of ds) {
      const t = traceOf(d);
      const place = placeOf(d, t);
      const span = decisionSpan(d, t, resourceFromAttributes({}), { name: 'test' });
      expect(span.spanContext()).toMatchObject({
        traceId: place.traceId,
        spanId: place.spanId,
        traceFlags: 1,
      });
      expect(span.parentSpanContext?.spanId).toBe(place.parentSpanId);
    }
    const released = decision(envelope(CHILD, { hop: 1, causationid: ROOT }), { release: true });
    const span = decisionSpan(released, traceOf(released), resourceFromAttributes({}), { name: 'test' });
    // A release's own id is made once, so every read of its context names the same span.
    expect(span.spanContext().spanId).toBe(span.spanContext().spanId);
    expect(span.parentSpanContext?.spanId).toBe(spanIdOf(CHILD));
  });

  it('a release is a child of the first decision, with an id of its own', () => {
    const released = decision(envelope(CHILD, { hop: 1, causationid: ROOT }), { release: true });
    const place = placeOf(released, traceOf(released));
    expect(place.parentSpanId).toBe(spanIdOf(CHILD));
    expect(place.spanId).not.toBe(spanIdOf(CHILD));
  });
});

describe('createTelemetry', () => {
  const on = () => {
    const config = telemetryConfig({}, { prometheus: true });
    if (config === undefined || config instanceof Error) throw new Error('no config');
    return createTelemetry({ config, version: '0.1.0' });
  };

  it('counts alert deliveries by route, sink and outcome, a suppressed one by its reason (meshwarden_alerts_total)', async () => {
    await using telemetry = on();
    telemetry.alert('on-call', 'pagerduty', 'sent');
    telemetry.alert('on-call', 'pagerduty', 'sent');
    telemetry.alert('on-call', 'pagerduty', 'failed');
    telemetry.alert('team', 'slack', 'suppressed', 'rate');
    telemetry.alert('team', 'slack', 'suppressed', 'rate');
    telemetry.alert('team', 'slack', 'suppressed', 'duplicate');
    const text = (await telemetry.scrape())!;
    expect(text).toContain('# TYPE meshwarden_alerts_total counter');
    expect(text).toContain('meshwarden_alerts_total{route="on-call",sink="pagerduty",outcome="sent"} 2');
    expect(text).toContain('meshwarden_alerts_total{route="on-call",sink="pagerduty",outcome="failed"} 1');
    expect(text).toContain(
      'meshwarden_alerts_total{route="team",sink="slack",outcome="suppressed",reason="rate"} 2',
    );
    expect(text).toContain(
      'meshwarden_alerts_total{route="team",sink="slack",outcome="suppressed",reason="duplicate"} 1',
    );
  });

  it('counts decisions by verdict, stage, rule, agent and kind; times the gate in seconds', async () => {
    await using telemetry = on();
    const held = decision(envelope(ROOT), {
      verdict: { decision: 'hold', stage: 'approval', rule: 'big-credit', reason: 'approval.required' },
    });
    telemetry.decision(held);
    telemetry.decision(held);
    telemetry.decision(
      decision(undefined, {
        durationMs: undefined,
        verdict: { decision: 'quarantine', stage: 'ingress', reason: 'ingress.not_json' },
      }),
    );
    const text = (await telemetry.scrape())!;
    expect(text).toContain(
      'meshwarden_gate_decisions_total{verdict="hold",stage="approval",rule="big-credit",agent="churn",kind="message"} 2',
    );
    expect(text).toContain(
      'meshwarden_gate_decisions_total{verdict="quarantine",stage="ingress",rule="",agent="unknown",kind="message"} 1',
    );
    // Input refused before the gate is counted, not timed.
    expect(text).toContain('meshwarden_gate_duration_seconds_count{verdict="hold"} 2');
    expect(text).not.toContain('meshwarden_gate_duration_seconds_count{verdict="quarantine"}');
  });

  it('counts new label sets past 2,000 under the agent `other`; the sets already counted go on', async () => {
    await using telemetry = on();
    const from = (name: string) => decision(envelope(randomUUID(), { source: `mesh://m/${name}@1.0.0` }));
    telemetry.decision(from('churn'));
    for (let i = 0; i < 2_100; i++) telemetry.decision(from(`made-up-${i}`));
    telemetry.decision(from('churn'));
    const text = (await telemetry.scrape())!;
    const sets = text.split('\n').filter((line) => line.startsWith('meshwarden_gate_decisions_total{'));
    expect(sets).toHaveLength(2_001);
    expect(text).toContain(
      'meshwarden_gate_decisions_total{verdict="deliver",stage="gate",rule="",agent="churn",kind="message"} 2',
    );
    expect(text).toContain('agent="made-up-1998"');
    expect(text).not.toContain('agent="made-up-1999"');
    expect(text).toContain(
      'meshwarden_gate_decisions_total{verdict="deliver",stage="gate",rule="",agent="other",kind="message"} 101',
    );
  });
});

describe('the resource', () => {
  it.each([
    [{}, /^[0-9a-f]{8}-[0-9a-f]{4}-4/],
    [{ OTEL_RESOURCE_ATTRIBUTES: 'service.instance.id=node-a' }, /^node-a$/],
  ])('names the instance (%o): a random UUID per process, unless set', async (env, id) => {
    const otlp = await jsonTraceReceiver();
    const config = telemetryConfig({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlp.traces,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      ...env,
    });
    if (config === undefined || config instanceof Error) throw new Error('no config');
    const telemetry = createTelemetry({ config, version: '0.1.0' });
    telemetry.decision(decision(envelope(randomUUID())));
    await telemetry.close();
    await otlp.close();
    const ids = otlp.received.flatMap((rs) =>
      rs.resource.attributes.filter((a) => a.key === 'service.instance.id').map((a) => a.value.stringValue),
    );
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatch(id);
  });
});

describe('sampling (OTEL_TRACES_SAMPLER)', () => {
  it('keeps or drops a case whole under parentbased_traceidratio', async () => {
    const otlp = await jsonTraceReceiver();
    const config = telemetryConfig({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlp.traces,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.5',
    });
    if (config === undefined || config instanceof Error) throw new Error('no config');
    const telemetry = createTelemetry({ config, version: '0.1.0' });
    const cases = Array.from({ length: 200 }, () => randomUUID());
    for (const root of cases) {
      const child = randomUUID();
      telemetry.decision(
        decision(envelope(root, { correlationid: root, traceparent: caseTraceparent(root, root) })),
      );
      telemetry.decision(
        decision(
          envelope(child, {
            correlationid: root,
            hop: 1,
            causationid: root,
            traceparent: caseTraceparent(root, child),
          }),
        ),
      );
    }
    await telemetry.close();
    await otlp.close();
    const exported = otlp.received.flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) => ss.spans.map((sp) => sp.traceId)),
    );
    const perTrace = new Map<string, number>();
    for (const t of exported) perTrace.set(t, (perTrace.get(t) ?? 0) + 1);
    // About half the cases, each with both its decisions.
    expect(perTrace.size).toBeGreaterThan(40);
    expect(perTrace.size).toBeLessThan(160);
    expect([...perTrace.values()].every((n) => n === 2)).toBe(true);
  });
});

/** A loopback OTLP/HTTP receiver whose answer the test sets (200, or a collector's failure). */
describe('export failures and drops', () => {
  it('tells a failed metrics export once per failure streak, and its recovery', async () => {
    const collector = await receiver();
    const config = telemetryConfig({
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${collector.url}/v1/metrics`,
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_TRACES_EXPORTER: 'none',
    });
    if (config === undefined || config instanceof Error) throw new Error('no config');
    const told: string[] = [];
    let lastError = '';
    const telemetry = createTelemetry({
      config,
      version: '0.1.0',
      onError: (err, signal) => {
        told.push(`failed ${signal}`);
        lastError = err.message;
      },
      onRecover: (signal) => told.push(`recovered ${signal}`),
    });
    telemetry.deliveryFailed('churn');
    collector.state.status = 400;
    for (let i = 0; i < 3; i++) await telemetry.flush();
    collector.state.status = 200;
    await telemetry.flush();
    await telemetry.flush();
    collector.state.status = 400;
    await telemetry.flush();
    await telemetry.close();
    await collector.close();
    expect(collector.state.requests).toBeGreaterThanOrEqual(6);
    // The close's last export fails too: told although the streak was, as it is the last word.
    expect(told).toEqual(['failed metrics', 'recovered metrics', 'failed metrics', 'failed metrics']);
    expect(lastError).toMatch(/\(the last export at exit, bounded to \d+ ms\)$/);
  });

  it('counts decision spans dropped at a full queue (meshwarden_telemetry_spans_dropped_total)', async () => {
    // A slow collector: the first batch is out, two spans wait, the rest find the queue full.
    const collector = await receiver({ delayMs: 200 });
    const config = telemetryConfig(
      {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/v1/traces`,
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        OTEL_BSP_MAX_QUEUE_SIZE: '2',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2',
      },
      { prometheus: true },
    );
    if (config === undefined || config instanceof Error) throw new Error('no config');
    const telemetry = createTelemetry({ config, version: '0.1.0' });
    expect(await telemetry.scrape()).toContain('meshwarden_telemetry_spans_dropped_total 0');
    for (let i = 0; i < 10; i++) telemetry.decision(decision(envelope(randomUUID())));
    expect(await telemetry.scrape()).toContain('meshwarden_telemetry_spans_dropped_total 6');
    await telemetry.close();
    await collector.close();
  });

  it.each([
    [400, 'refused at once (not retried)'],
    [503, 'retried until its timeout, then given up'],
  ])(
    'counts decision spans a collector answers %i to (%s) in meshwarden_telemetry_spans_failed_total',
    async (status) => {
      const collector = await receiver();
      collector.state.status = status;
      const config = telemetryConfig(
        {
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/v1/traces`,
          OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
          OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '500',
          OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '3',
          OTEL_BSP_SCHEDULE_DELAY: '10',
        },
        { prometheus: true },
      );
      if (config === undefined || config instanceof Error) throw new Error('no config');
      const telemetry = createTelemetry({ config, version: '0.1.0', onError: () => {} });
      expect(await telemetry.scrape()).toContain('meshwarden_telemetry_spans_failed_total 0');
      for (let i = 0; i < 7; i++) telemetry.decision(decision(envelope(randomUUID())));
      const failed = async () =>
        /meshwarden_telemetry_spans_failed_total (\d+)/.exec((await telemetry.scrape())!)?.[1];
      for (let tries = 0; (await failed()) !== '7' && tries < 200; tries++)
        await new Promise((r) => setTimeout(r, 10));
      expect(await failed()).toBe('7');
      await telemetry.close();
      await collector.close();
    },
  );
});
