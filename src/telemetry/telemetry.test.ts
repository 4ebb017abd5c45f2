import { randomUUID } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { caseTraceparent, type Envelope, spanIdOf } from '../envelope/index.js';
import { telemetryConfig } from './config.js';
import { placeOf, type TelemetryDecision, traceOf } from './spans.js';
import { createTelemetry, withSecondsSuffix } from './telemetry.js';
import { startOtlpReceiver } from './test-kit.js';

const ROOT = '01a23cd8-27b5-714f-acc6-291cff3c1fa4';
const CHILD = '01a23cd8-27dc-7566-b555-e4890248cd02';

function envelope(id: string, over: Partial<Envelope> = {}): Envelope {
  return {
    specversion: '1.0',
    id,
    source: 'mesh://m/churn@2.0.1',
    type: 'churn.assessed.v1',
    time: '2026-01-01T00:00:00Z',
    subject: 'account:1',
    data: {},
    correlationid: ROOT,
    hop: 0,
    traceparent: caseTraceparent(ROOT, id),
    ...over,
  };
}

const decision = (e: Envelope | undefined, over: Partial<TelemetryDecision> = {}): TelemetryDecision => ({
  msgId: e?.id ?? 'x',
  gated: 'message',
  verdict: { decision: 'deliver', stage: 'gate', reason: 'gate.admitted' },
  envelope: e,
  policyDigest: 'sha256:abc',
  startedAt: 1,
  durationMs: 0.01,
  ...over,
});

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

  it('counts alert deliveries by route, sink and outcome (meshwarden_alerts_total)', async () => {
    await using telemetry = on();
    telemetry.alert('on-call', 'pagerduty', 'sent');
    telemetry.alert('on-call', 'pagerduty', 'sent');
    telemetry.alert('on-call', 'pagerduty', 'failed');
    telemetry.alert('team', 'slack', 'suppressed');
    const text = (await telemetry.scrape())!;
    expect(text).toContain('# TYPE meshwarden_alerts_total counter');
    expect(text).toContain('meshwarden_alerts_total{route="on-call",sink="pagerduty",outcome="sent"} 2');
    expect(text).toContain('meshwarden_alerts_total{route="on-call",sink="pagerduty",outcome="failed"} 1');
    expect(text).toContain('meshwarden_alerts_total{route="team",sink="slack",outcome="suppressed"} 1');
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

  it('renames a family in seconds as Prometheus expects', () => {
    const text = [
      '# HELP a_b x',
      '# UNIT a_b s',
      '# TYPE a_b histogram',
      'a_b_count{k="v"} 1',
      'a_b_sum 2',
      'a_bc 3',
    ].join('\n');
    expect(withSecondsSuffix(text).split('\n')).toEqual([
      '# HELP a_b_seconds x',
      '# UNIT a_b_seconds seconds',
      '# TYPE a_b_seconds histogram',
      'a_b_seconds_count{k="v"} 1',
      'a_b_seconds_sum 2',
      'a_bc 3',
    ]);
  });
});

describe('sampling (OTEL_TRACES_SAMPLER)', () => {
  it('keeps or drops a case whole under parentbased_traceidratio', async () => {
    const exported: string[] = [];
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        for (const rs of JSON.parse(body).resourceSpans)
          for (const ss of rs.scopeSpans) for (const sp of ss.spans) exported.push(sp.traceId);
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const config = telemetryConfig({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${port}/v1/traces`,
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
    server.close();
    const perTrace = new Map<string, number>();
    for (const t of exported) perTrace.set(t, (perTrace.get(t) ?? 0) + 1);
    // About half the cases, each with both its decisions.
    expect(perTrace.size).toBeGreaterThan(40);
    expect(perTrace.size).toBeLessThan(160);
    expect([...perTrace.values()].every((n) => n === 2)).toBe(true);
  });
});

/** A loopback OTLP/HTTP receiver whose answer the test sets (200, or a collector's failure). */
async function receiver(opts: { delayMs?: number } = {}) {
  const { createServer } = await import('node:http');
  const state = { status: 200, requests: 0 };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.requests++;
      setTimeout(() => res.writeHead(state.status).end('{}'), opts.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return { url, state, close };
}

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
    const telemetry = createTelemetry({
      config,
      version: '0.1.0',
      onError: (_err, signal) => told.push(`failed ${signal}`),
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
    expect(told).toEqual(['failed metrics', 'recovered metrics', 'failed metrics']);
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
});

describe('closing with a full queue', () => {
  it.each(['http/protobuf', 'http/json'])(
    "exports every queued span (%s), past the exporter's 30 exports in flight",
    async (protocol) => {
      // One batch goes out when ten spans wait; the other 99 wait for close, whose flush hands them
      // over at once. The OTLP exporter took 30 and refused the rest, whose spans were lost; now
      // they wait their turn (at most 64 exports in flight).
      const collector = await startOtlpReceiver();
      onTestFinished(() => collector.close());
      const config = telemetryConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_BSP_MAX_QUEUE_SIZE: '1000',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10',
      });
      if (config === undefined || config instanceof Error) throw new Error('no config');
      const told: Error[] = [];
      const telemetry = createTelemetry({ config, version: '0.1.0', onError: (err) => told.push(err) });
      const ids = Array.from({ length: 1000 }, () => randomUUID());
      for (const id of ids) telemetry.decision(decision(envelope(id)));
      await telemetry.close();
      expect(told).toEqual([]);
      expect(new Set(collector.spans.map((s) => s.spanId))).toEqual(new Set(ids.map(spanIdOf)));
    },
  );
});

describe('closing toward a slow collector', () => {
  it('sends a hundred queued batches within the bound, 64 at a time', async () => {
    // Each answer takes 300 ms and close may take 1.5 s: a few at a time (8 took 13 rounds) would be
    // cut short; 64 at a time take two rounds.
    const collector = await receiver({ delayMs: 300 });
    onTestFinished(() => collector.close());
    const config = telemetryConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_BSP_MAX_QUEUE_SIZE: '1000',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10',
    });
    if (config === undefined || config instanceof Error) throw new Error('no config');
    const told: Error[] = [];
    const telemetry = createTelemetry({
      config: { ...config, shutdownMillis: 1000 },
      version: '0.1.0',
      onError: (err) => told.push(err),
    });
    for (let i = 0; i < 1000; i++) telemetry.decision(decision(envelope(randomUUID())));
    await telemetry.close();
    expect(told).toEqual([]);
    expect(collector.state.requests).toBe(100);
  });
});

describe('closing toward a dead collector', () => {
  it('bounds the last export (3 s at most), not the OTLP timeout of 10 s with its retries', async () => {
    // 503 is retryable: unbounded, the exporter would retry for its whole 10 s timeout, and this
    // test would outlive vitest's 5 s limit.
    const collector = await receiver();
    collector.state.status = 503;
    const config = telemetryConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
    if (config === undefined || config instanceof Error) throw new Error('no config');
    expect(config.shutdownMillis).toBe(3000);
    const told: string[] = [];
    const telemetry = createTelemetry({
      config: { ...config, shutdownMillis: 1000 },
      version: '0.1.0',
      onError: (_err, signal) => told.push(`failed ${signal ?? 'close'}`),
    });
    telemetry.decision(decision(envelope(randomUUID())));
    await telemetry.close();
    await collector.close();
    expect(await telemetry.closed).toBeInstanceOf(Error);
    expect(told).toContain('failed traces');
  });

  it('says what the exports it gave up carried, even once a failure of theirs was told', async () => {
    const { createServer } = await import('node:http');
    // Reads every request and never answers: exports stay in flight until the exit bound ends them.
    const silent = createServer((req) => req.resume());
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const config = telemetryConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TIMEOUT: '60000',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2',
    });
    if (config === undefined || config instanceof Error) throw new Error('no config');
    const told: { signal: string | undefined; message: string }[] = [];
    const telemetry = createTelemetry({
      config: { ...config, shutdownMillis: 500 },
      version: '0.1.0',
      onError: (err, signal) => told.push({ signal, message: err.message }),
    });
    // Two full batches go at once (four spans, never answered); the fifth waits for the close.
    for (let i = 0; i < 5; i++) telemetry.decision(decision(envelope(randomUUID())));
    await telemetry.close();
    silent.closeAllConnections();
    silent.close();
    const givenUp = told.filter((t) => t.message.startsWith('given up at exit'));
    expect(givenUp.find((t) => t.signal === 'traces')?.message).toMatch(
      /^given up at exit after 500 ms: \d+ exports? of \d+ span\(s\) not answered; those spans are lost$/,
    );
    // The traces' bounded last export failed first (a streak told), and the give-up is told all the same.
    const traces = told.filter((t) => t.signal === 'traces').map((t) => t.message);
    expect(traces.length).toBeGreaterThan(1);
    expect(told.find((t) => t.signal === 'metrics')?.message).toMatch(/bounded to 500 ms\)$/);
    // The last export ran under the bound, and its failure says so, with the spans it carried.
    expect(told.map((t) => t.message)).toContainEqual(
      expect.stringMatching(/\(the last export at exit, bounded to 500 ms; \d+ span\(s\) lost\)$/),
    );
  });
});
