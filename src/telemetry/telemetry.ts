import { randomUUID } from 'node:crypto';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  type InstrumentType,
  MeterProvider,
  type MetricReader,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import type { TelemetryConfig } from './config.js';
import { decisionCells } from './decision-cells.js';
import { decisionSpan } from './decision-span.js';
import { createExporters, type Outstanding, type Signal } from './exporters.js';
import { createHopMetrics, type HopMetrics } from './hop-metrics.js';
import { createInstruments, type Gauges } from './metrics.js';
import { type RuntimeSource, runtimeSource, watchProcess } from './process-metrics.js';
import { type SpanTrace, type TelemetryDecision, traceOf } from './spans.js';

/**
 * Meshwarden's telemetry, on: what the runtime's `MeshTelemetry` port asks for (it is handed to the
 * mesh as that), plus the Prometheus text for `GET /metrics` and a flush and close.
 */
export type Telemetry = {
  readonly on: true;
  decision(d: TelemetryDecision): void;
  delivery(agent: string, durationMs: number, ok: boolean): void;
  deliveryFailed(agent: string): void;
  ledgerCommit(durationMs: number, entries: number): void;
  /** One HTTP request as it ended (server/ calls it): method, route template, status, duration. */
  request(served: {
    readonly method: string;
    readonly route: string | undefined;
    readonly status: number | undefined;
    readonly durationMs: number;
    readonly aborted: boolean;
  }): void;
  /** One alert delivery's outcome (alerts/ calls it through the port). */
  alert(
    route: string,
    sink: string,
    outcome: 'sent' | 'failed' | 'suppressed',
    reason?: 'duplicate' | 'rate' | 'overflow',
  ): void;
  observe(gauges: Gauges): () => void;
  /** A verify of the whole ledger ended (server/ tells it): intact or not, and when (epoch ms). */
  ledgerVerified(ok: boolean, atMs: number): void;
  /** The metrics in Prometheus text format (0.0.4); undefined when the endpoint is not on. */
  scrape(): Promise<string | undefined>;
  /** Exports what is buffered (spans and metrics) now. */
  flush(): Promise<void>;
  /** Flushes, then stops the exporters. Idempotent. */
  close(): Promise<void>;
  readonly closed: Promise<void | Error>;
  [Symbol.asyncDispose](): Promise<void>;
};

export type TelemetryOptions = {
  readonly config: TelemetryConfig;
  /** The package's version, for `service.version` and the instrumentation scope. */
  readonly version: string;
  /** The mesh's name (`meshwarden.mesh` on the resource). */
  readonly mesh?: string;
  /**
   * Called when an export fails (a collector down), once per failure streak of a signal: the caller
   * logs it; telemetry never throws into the mesh.
   */
  readonly onError?: (err: Error, signal?: Signal) => void;
  /** Called when a signal's export succeeds again after a failure streak. */
  readonly onRecover?: (signal: Signal) => void;
};

/** Prometheus's text exposition format, as scrapers expect it. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Traces and metrics through the official OpenTelemetry SDK: decision spans go to a
 * BatchSpanProcessor with the OTLP/HTTP exporter the protocol names; one MeterProvider's instruments
 * feed both the OTLP metric exporter and the Prometheus serializer, so nothing is recorded twice.
 */
export function createTelemetry(opts: TelemetryOptions): Telemetry {
  const { config } = opts;
  const resource = resourceFromAttributes({
    // One id per process, as the semantic conventions ask: two wardens (a cluster's nodes, or a
    // restart that overlaps) push cumulative metrics that a backend must not merge into one series.
    'service.instance.id': randomUUID(),
    ...config.resource,
    'service.name': config.serviceName,
    'service.version': config.resource['service.version'] ?? opts.version,
    ...(opts.mesh === undefined ? {} : { 'meshwarden.mesh': opts.mesh }),
  });
  const scope = { name: 'meshwarden', version: opts.version };
  const report = (err: unknown, signal?: Signal) =>
    opts.onError?.(err instanceof Error ? err : new Error(String(err)), signal);
  // Spans waiting in the batch processor's queue, as it counts them (it says nothing when it drops
  // one at maxQueueSize): counted in, and out when the exporter is handed a batch.
  let queued = 0;
  const exporters = createExporters({
    ...(config.traces === undefined ? {} : { traces: config.traces }),
    ...(config.metrics === undefined ? {} : { metrics: config.metrics }),
    watch: { failed: (signal, err) => report(err, signal), recovered: (s) => opts.onRecover?.(s) },
    handed: (batch) => {
      queued = Math.max(0, queued - batch.length);
    },
    // Answered after the instruments exist: no export starts before a decision is made.
    lost: (n) => instruments.spansFailed(n),
  });
  const spans =
    exporters.spans === undefined
      ? undefined
      : new BatchSpanProcessor({ exporter: exporters.spans, ...config.batch });
  const hop = createHopMetrics(resource, scope);
  const { readers, prometheus, runtime } = metricReaders(config, exporters.metrics, hop);
  const meters = new MeterProvider({ resource, readers });
  const instruments = createInstruments(meters.getMeter(scope.name, scope.version), hop);
  // The process's health beside the mesh's, wherever metrics go.
  const watch =
    readers.length === 0 ? undefined : watchProcess(meters, runtime, (err) => report(err, 'metrics'));
  // No otel_scope_* labels on every series: one scope, Meshwarden's.
  const serializer = new PrometheusSerializer('', false, undefined, false, true);
  const sample = samplerFor(config.sampler);

  let closing: Promise<void> | undefined;
  let settle: (v: void | Error) => void = () => {};
  const closed = new Promise<void | Error>((resolve) => {
    settle = resolve;
  });
  // A flush's or close's failure that an export already told (this streak) is not told again.
  const reportUnlessTold = (err: unknown) => {
    if (!exporters.failing()) report(err);
  };
  const cellOf = decisionCells(instruments);

  const close = (): Promise<void> => {
    closing ??= (async () => {
      // The last export is bounded (config.shutdownMillis): a dead collector must not hold the
      // command's exit for the exporter's 10 s of retries.
      exporters.bound(config.shutdownMillis);
      const began = performance.now();
      const limit = config.shutdownMillis + 500;
      const failed = await within(limit, [spans?.shutdown(), meters.shutdown()]);
      // After the last collection, so that it carries the runtime's values too.
      watch?.stop();
      // A shutdown that failed fast (one batch refused) leaves others in flight: they get the rest
      // of the bound. Those still unanswered then are said by signal, with what they carried: a
      // streak already told (metrics failing) must not hide that a batch of spans never got an answer.
      await within(Math.max(0, limit - (performance.now() - began)), [exporters.drained()]);
      const waited = Math.round(performance.now() - began);
      const givenUp = givenUpAtExit(exporters.outstanding(), waited);
      for (const [signal, err] of givenUp) report(err, signal);
      if (failed !== undefined && givenUp.length === 0) reportUnlessTold(failed);
      settle(failed === undefined ? undefined : failed instanceof Error ? failed : new Error(String(failed)));
    })();
    return closing;
  };

  return {
    on: true,
    decision(d) {
      if (closing !== undefined) return;
      const cell = cellOf(d);
      instruments.decision(cell, d.durationMs === undefined ? undefined : d.durationMs / 1000);
      if (spans === undefined) return;
      const trace = traceOf(d);
      // An unsampled span (the caller's flag) the processor would skip; a full queue, it would drop.
      if (!sample(trace) || !trace.sampled) return;
      if (queued >= config.batch.maxQueueSize) {
        instruments.spansDropped();
        return;
      }
      queued++;
      spans.onEnd(decisionSpan(d, trace, resource, scope));
    },
    delivery: (agent, ms, ok) => instruments.delivery(agent, ms / 1000, ok),
    deliveryFailed: (agent) => instruments.deliveryFailed(agent),
    ledgerCommit: (ms, entries) => instruments.ledgerCommit(ms / 1000, entries),
    request: (r) => instruments.request(r.method, r.route, r.status, r.durationMs / 1000, r.aborted),
    alert: (route, sink, outcome, reason) => instruments.alert(route, sink, outcome, reason),
    observe: (gauges) => instruments.observe(gauges),
    ledgerVerified: (ok, atMs) => instruments.ledgerVerified(ok, atMs),
    async scrape() {
      if (prometheus === undefined) return undefined;
      // The first scrape already has the runtime's instruments.
      await watch?.ready;
      const { resourceMetrics, errors } = await prometheus.collect();
      for (const err of errors) report(err);
      return withUnitSuffixes(serializer.serialize(resourceMetrics));
    },
    async flush() {
      await watch?.ready;
      await Promise.all([spans?.forceFlush(), meters.forceFlush()]).catch(reportUnlessTold);
    },
    close,
    closed,
    [Symbol.asyncDispose]: close,
  };
}

/** An error for each signal with exports still unanswered after `waitedMs` of the exit bound. */
function givenUpAtExit(
  outstanding: Readonly<Record<Signal, Readonly<Outstanding>>>,
  waitedMs: number,
): [Signal, Error][] {
  const out: [Signal, Error][] = [];
  const { traces, metrics } = outstanding;
  const exports = (n: number) => `${n} export${n === 1 ? '' : 's'}`;
  if (traces.exports > 0)
    out.push([
      'traces',
      new Error(
        `given up at exit after ${waitedMs} ms: ${exports(traces.exports)} of ${traces.spans} span(s) not answered; those spans are lost`,
      ),
    ]);
  if (metrics.exports > 0)
    out.push([
      'metrics',
      new Error(
        `given up at exit after ${waitedMs} ms: ${exports(metrics.exports)} not answered; the last values did not get out`,
      ),
    ]);
  return out;
}

/** Waits for `parts` at most `ms`: the first failure, a cut-short error, or undefined when all went well. */
async function within(ms: number, parts: readonly (Promise<void> | undefined)[]): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<'cut'>((resolve) => {
    timer = setTimeout(() => resolve('cut'), ms);
    timer.unref();
  });
  const results = await Promise.race([Promise.allSettled(parts), cut]);
  clearTimeout(timer);
  if (results === 'cut') return new Error(`telemetry flush cut short after ${ms} ms`);
  const failed = results.find((r) => r.status === 'rejected');
  return failed?.reason;
}

/**
 * The OTLP metric reader and the Prometheus one, as the configuration asks: both read the mesh's
 * MeterProvider, and each a runtime instrumentation of its own (`runtime`, process-metrics.ts).
 */
function metricReaders(
  config: TelemetryConfig,
  exporter: PushMetricExporter | undefined,
  hop: HopMetrics,
): {
  readers: MetricReader[];
  prometheus: PrometheusExporter | undefined;
  /** Each reader's runtime instrumentation (process-metrics.ts says why one each). */
  runtime: RuntimeSource[];
} {
  const readers: MetricReader[] = [];
  const runtime: RuntimeSource[] = [];
  const sourceFor = (temporality: (type: InstrumentType) => AggregationTemporality) => {
    const source = runtimeSource(temporality);
    runtime.push(source);
    return source.producer;
  };
  if (config.metrics !== undefined && exporter !== undefined) {
    const { intervalMs } = config.metrics;
    // Delta for a collector that asks for it (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE).
    const temporality = (type: InstrumentType) =>
      exporter.selectAggregationTemporality?.(type) ?? AggregationTemporality.CUMULATIVE;
    readers.push(
      new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: intervalMs,
        exportTimeoutMillis: Math.min(30_000, intervalMs),
        metricProducers: [hop.producer(temporality), sourceFor(temporality)],
      }),
    );
  }
  const prometheus = config.prometheus
    ? new PrometheusExporter({
        preventServerStart: true,
        metricProducers: [
          hop.producer(() => AggregationTemporality.CUMULATIVE),
          sourceFor(() => AggregationTemporality.CUMULATIVE),
        ],
      })
    : undefined;
  if (prometheus !== undefined) readers.push(prometheus);
  return { readers, prometheus, runtime };
}

/**
 * `OTEL_TRACES_SAMPLER`. A decision's parent is a decision of this mesh (sampled by the same rule on
 * the same trace id, so the rule is applied again) or, for a root, the caller's span named by its
 * traceparent, whose sampled flag parent-based samplers follow. `traceidratio` reads the trace id,
 * so every decision of one case is kept or dropped together.
 */
function samplerFor(s: TelemetryConfig['sampler']): (trace: SpanTrace) => boolean {
  const threshold = Math.floor(s.ratio * 0xffffffff);
  const byRatio = (trace: SpanTrace) => Number.parseInt(trace.traceId.slice(24), 16) <= threshold;
  const root =
    s.name === 'traceidratio' || s.name === 'parentbased_traceidratio'
      ? byRatio
      : s.name === 'always_off' || s.name === 'parentbased_always_off'
        ? () => false
        : () => true;
  if (!s.name.startsWith('parentbased_')) return root;
  return (t) => (t.callerSpanId !== undefined ? t.sampled : root(t));
}

/** The Prometheus suffix of each unit a family may carry (OpenTelemetry's UCUM unit → its base unit). */
const UNIT_SUFFIXES: Readonly<Record<string, string>> = { s: 'seconds', By: 'bytes' };

/**
 * Prometheus names carry their unit (`_seconds`, `_bytes`, before a counter's `_total`); this
 * serializer writes the unit in a `# UNIT` line only, so a family in seconds or bytes is renamed
 * here, as the OpenTelemetry Collector's exporter would.
 */
export function withUnitSuffixes(text: string): string {
  let out = text;
  for (const [, name, unit] of text.matchAll(/^# UNIT (\S+) (s|By)$/gm)) {
    const suffix = UNIT_SUFFIXES[unit!]!;
    const counter = name!.endsWith('_total');
    const base = counter ? name!.slice(0, -'_total'.length) : name!;
    const renamed = counter ? `${base}_${suffix}_total` : `${base}_${suffix}`;
    // A counter's samples are its name; a histogram's carry _bucket, _count or _sum after it.
    const samples = counter ? '' : '(_bucket|_count|_sum)?';
    out = out
      .replaceAll(new RegExp(`^(# (?:HELP|TYPE) )${name} `, 'gm'), `$1${renamed} `)
      .replace(`# UNIT ${name} ${unit}`, `# UNIT ${renamed} ${suffix}`)
      .replaceAll(new RegExp(`^${name}${samples}([{ ])`, 'gm'), counter ? `${renamed}$1` : `${renamed}$1$2`);
  }
  return out;
}
