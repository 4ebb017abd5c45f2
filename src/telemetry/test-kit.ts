import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { caseTraceparent, type Envelope } from '../envelope/index.js';
import type { TelemetryDecision } from './spans.js';

/** One span as it arrived, whichever the protocol: ids in hex, attributes as plain values. */
export type ReceivedSpan = {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly statusCode: number;
  readonly events: readonly string[];
  readonly resource: Readonly<Record<string, string | number | boolean>>;
};

/** What a loopback OTLP/HTTP receiver got: each request's path and content type, and the spans decoded. */
export type OtlpReceiver = {
  /** `http://127.0.0.1:<port>`: the base for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly requests: { readonly path: string; readonly contentType: string; readonly bytes: number }[];
  readonly spans: ReceivedSpan[];
  /** OTLP/JSON metric exports: each gauge's and sum's data points, by metric name, as they arrived. */
  readonly metrics: { readonly name: string; readonly value: number }[];
  /** Requests and bytes taken in, discarded or not. */
  readonly count: { requests: number; bytes: number };
  close(): Promise<void>;
};

/**
 * A real OTLP/HTTP receiver on loopback: accepts /v1/traces and /v1/metrics (protobuf or JSON),
 * answers 200 with an empty response as a collector does, and decodes trace requests.
 * `discard` keeps nothing (the bench's sink).
 */
export async function startOtlpReceiver(opts: { discard?: boolean } = {}): Promise<OtlpReceiver> {
  const requests: OtlpReceiver['requests'] = [];
  const spans: ReceivedSpan[] = [];
  const metrics: OtlpReceiver['metrics'] = [];
  const count = { requests: 0, bytes: 0 };
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const contentType = req.headers['content-type'] ?? '';
    count.requests++;
    count.bytes += body.length;
    if (opts.discard !== true) {
      requests.push({ path: req.url ?? '', contentType, bytes: body.length });
      if (req.url === '/v1/traces')
        spans.push(...(contentType.includes('json') ? jsonSpans(body) : protobufSpans(body)));
      if (req.url === '/v1/metrics' && contentType.includes('json')) metrics.push(...jsonPoints(body));
    }
    res.writeHead(200, { 'content-type': contentType.includes('json') ? 'application/json' : contentType });
    res.end(contentType.includes('json') ? '{}' : '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    spans,
    metrics,
    count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

type JsonValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
};
type JsonAttr = { key: string; value: JsonValue };

function jsonAttrs(list: readonly JsonAttr[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ?? value.boolValue ?? value.doubleValue ?? Number(value.intValue);
  }
  return out;
}

type JsonPoint = { asInt?: string | number; asDouble?: number };

/** OTLP/JSON metrics: the data points of gauges and sums, by name. */
function jsonPoints(body: Buffer): { name: string; value: number }[] {
  const request = JSON.parse(body.toString('utf8')) as {
    resourceMetrics: {
      scopeMetrics: {
        metrics: { name: string; gauge?: { dataPoints: JsonPoint[] }; sum?: { dataPoints: JsonPoint[] } }[];
      }[];
    }[];
  };
  return request.resourceMetrics.flatMap((rm) =>
    rm.scopeMetrics.flatMap((sm) =>
      sm.metrics.flatMap(
        (m) =>
          (m.gauge ?? m.sum)?.dataPoints.map((p) => ({
            name: m.name,
            value: Number(p.asInt ?? p.asDouble),
          })) ?? [],
      ),
    ),
  );
}

/** OTLP/JSON: ids are hex strings (the OTLP spec's JSON mapping). */
function jsonSpans(body: Buffer): ReceivedSpan[] {
  const request = JSON.parse(body.toString('utf8')) as {
    resourceSpans: {
      resource?: { attributes?: JsonAttr[] };
      scopeSpans: {
        spans: {
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          attributes?: JsonAttr[];
          status?: { code?: number };
          events?: { name: string }[];
        }[];
      }[];
    }[];
  };
  return request.resourceSpans.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) =>
      ss.spans.map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        name: s.name,
        attributes: jsonAttrs(s.attributes),
        statusCode: s.status?.code ?? 0,
        events: (s.events ?? []).map((e) => e.name),
        resource: jsonAttrs(rs.resource?.attributes),
      })),
    ),
  );
}

/** A protobuf message's fields: number → the values seen (varints as numbers, length-delimited as bytes). */
type Fields = Map<number, (number | Buffer)[]>;

/** The protobuf wire format, enough for OTLP: varint, 64-bit, length-delimited and 32-bit fields. */
function fieldsOf(buf: Buffer): Fields {
  const fields: Fields = new Map();
  let at = 0;
  const varint = (): number => {
    let n = 0;
    let shift = 1;
    for (;;) {
      const b = buf[at++]!;
      n += (b & 0x7f) * shift;
      if (b < 0x80) return n;
      shift *= 128;
    }
  };
  while (at < buf.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    let value: number | Buffer;
    if (wire === 0) value = varint();
    else if (wire === 1) {
      value = buf.subarray(at, at + 8);
      at += 8;
    } else if (wire === 2) {
      const len = varint();
      value = buf.subarray(at, at + len);
      at += len;
    } else if (wire === 5) {
      value = buf.subarray(at, at + 4);
      at += 4;
    } else throw new Error(`protobuf wire type ${wire} at byte ${at}`);
    const list = fields.get(field) ?? [];
    list.push(value);
    fields.set(field, list);
  }
  return fields;
}

const bytes = (f: Fields, n: number): Buffer[] => (f.get(n) ?? []).filter((v) => Buffer.isBuffer(v));
const text = (f: Fields, n: number): string => bytes(f, n)[0]?.toString('utf8') ?? '';

/** KeyValue {key = 1; AnyValue value = 2}; AnyValue {string 1, bool 2, int 3, double 4}. */
function protobufAttrs(list: Buffer[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of list) {
    const f = fieldsOf(kv);
    const value = fieldsOf(bytes(f, 2)[0] ?? Buffer.alloc(0));
    if (value.has(1)) out[text(f, 1)] = text(value, 1);
    else if (value.has(2)) out[text(f, 1)] = value.get(2)![0] === 1;
    else if (value.has(3)) out[text(f, 1)] = value.get(3)![0] as number;
    else if (value.has(4)) out[text(f, 1)] = (value.get(4)![0] as Buffer).readDoubleLE(0);
  }
  return out;
}

/**
 * ExportTraceServiceRequest {resource_spans = 1}; ResourceSpans {resource 1, scope_spans 2};
 * ScopeSpans {spans 2}; Span {trace_id 1, span_id 2, parent_span_id 4, name 5, attributes 9,
 * events 11, status 15}; Status {code 3}; Event {name 2}. Field numbers from opentelemetry-proto.
 */
function protobufSpans(body: Buffer): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of bytes(fieldsOf(body), 1)) {
    const rsf = fieldsOf(rs);
    const resource = protobufAttrs(bytes(fieldsOf(bytes(rsf, 1)[0] ?? Buffer.alloc(0)), 1));
    for (const ss of bytes(rsf, 2)) {
      for (const span of bytes(fieldsOf(ss), 2)) {
        const s = fieldsOf(span);
        const status = fieldsOf(bytes(s, 15)[0] ?? Buffer.alloc(0));
        out.push({
          traceId: bytes(s, 1)[0]?.toString('hex') ?? '',
          spanId: bytes(s, 2)[0]?.toString('hex') ?? '',
          parentSpanId: bytes(s, 4)[0]?.toString('hex') ?? '',
          name: text(s, 5),
          attributes: protobufAttrs(bytes(s, 9)),
          statusCode: (status.get(3)?.[0] as number | undefined) ?? 0,
          events: bytes(s, 11).map((e) => text(fieldsOf(e), 2)),
          resource,
        });
      }
    }
  }
  return out;
}

/** A case's root id and a child's, for decisions made in tests. */
export const ROOT = '01a23cd8-27b5-714f-acc6-291cff3c1fa4';
export const CHILD = '01a23cd8-27dc-7566-b555-e4890248cd02';

/** An envelope of case ROOT, a root unless `over` says otherwise. */
export function envelope(id: string, over: Partial<Envelope> = {}): Envelope {
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

/** A pass decision on `e`, as the runtime reports one. */
export const decision = (
  e: Envelope | undefined,
  over: Partial<TelemetryDecision> = {},
): TelemetryDecision => ({
  msgId: e?.id ?? 'x',
  gated: 'message',
  verdict: { decision: 'deliver', stage: 'gate', reason: 'gate.admitted' },
  envelope: e,
  policyDigest: 'sha256:abc',
  startedAt: 1,
  durationMs: 0.01,
  ...over,
});

/**
 * A loopback HTTP endpoint that answers every request with `state.status` after `delayMs`, and
 * counts them: for exports that fail, recover or are slow.
 */
export async function receiver(opts: { delayMs?: number } = {}) {
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

/** One OTLP/HTTP JSON trace export as it arrives: each ResourceSpans' resource attributes and spans. */
export type JsonResourceSpans = {
  resource: { attributes: { key: string; value: { stringValue?: string } }[] };
  scopeSpans: { spans: { traceId: string }[] }[];
};

/**
 * A loopback OTLP/HTTP receiver for `http/json` trace exports that keeps each request's
 * ResourceSpans, and its `traces` URL to export to.
 */
export async function jsonTraceReceiver() {
  const received: JsonResourceSpans[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(...(JSON.parse(body) as { resourceSpans: JsonResourceSpans[] }).resourceSpans);
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const traces = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  return { traces, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}
