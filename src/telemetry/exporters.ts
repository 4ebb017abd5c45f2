import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
  type OTLPExporterNodeConfigBase,
} from '@opentelemetry/otlp-exporter-base/node-http';
import {
  type IExportTraceServiceResponse,
  type ISerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
} from '@opentelemetry/otlp-transformer';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { OtlpProtocol } from './config.js';
import { encodeDecisionSpans } from './decision-protobuf.js';
import { isDecisionSpan } from './decision-span.js';

export type Signal = 'traces' | 'metrics';

/**
 * What an export came to, told once per change: the first failure of a streak (a collector gone
 * stays one warning, not one per interval) and the first success after it.
 */
export type ExportWatch = {
  failed(signal: Signal, err: Error): void;
  recovered(signal: Signal): void;
};

/** Whether a signal's last export failed: flush and close stay quiet about a failure already told. */
export type Streaks = { readonly failing: (signal?: Signal) => boolean };

type Exporter<T> = {
  export(items: T, done: (result: ExportResult) => void): void;
};

/**
 * The SDK's readers and processors hand an export's failure to OpenTelemetry's global error handler
 * (silent by default); this wrapper sees each result, so Meshwarden can say it, once a streak.
 */
function watching<T>(
  inner: Exporter<T>,
  signal: Signal,
  watch: ExportWatch,
  state: Map<Signal, boolean>,
  handed?: (items: T) => void,
  lost?: (items: T) => void,
): Exporter<T>['export'] {
  return (items, done) => {
    handed?.(items);
    // Once per export, however the exporter answers: a callback, a second one, or a throw.
    let answered = false;
    const answer = (result: ExportResult) => {
      if (answered) return;
      answered = true;
      if (result.code === ExportResultCode.SUCCESS) {
        if (state.get(signal) === true) watch.recovered(signal);
        state.set(signal, false);
        done(result);
        return;
      }
      lost?.(items);
      const error = result.error ?? new Error(`${signal} export failed`);
      // A failure of the last export at exit is told even inside a streak: it says what was lost.
      if (state.get(signal) !== true || AT_EXIT in error) watch.failed(signal, error);
      state.set(signal, true);
      done({ code: result.code, error });
    };
    try {
      inner.export(items, answer);
    } catch (err) {
      answer({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) });
    }
  };
}

/**
 * Span exports in flight at most. The batch processor sends one batch at a time, but its flush (at
 * close, and forceFlush) hands every queued batch over at once: the OTLP exporter refused those past
 * its limit (30 by default) and their spans were lost, while one connection per batch of a large
 * queue would run out of sockets. So at most this many go at once, the others wait their turn, and a
 * close bounded to 3 s still sends a few thousand spans a round.
 */
const EXPORTS_AT_ONCE = 64;

/** Exports in turn: at most `atOnce` in flight, the rest waiting in order. */
function inTurn<T>(exportNow: Exporter<T>['export'], atOnce: number): Exporter<T>['export'] {
  let running = 0;
  const waiting: (() => void)[] = [];
  const finished = () => {
    running--;
    waiting.shift()?.();
  };
  return (items, done) => {
    const start = () => {
      running++;
      exportOrFail(exportNow, items, (result) => {
        finished();
        done(result);
      });
    };
    if (running < atOnce) start();
    else waiting.push(start);
  };
}

/** Marks the failure of an export started under the exit bound. */
const AT_EXIT: unique symbol = Symbol('meshwarden.telemetry.atExit');

/**
 * An export started under the exit bound says so when it fails: "Request timed out" alone reads
 * wrong beside an OTEL_EXPORTER_OTLP_TIMEOUT of minutes.
 */
function atExit(
  done: (result: ExportResult) => void,
  boundMs: number | undefined,
  carried = '',
): (result: ExportResult) => void {
  if (boundMs === undefined) return done;
  return (result) => {
    const { error } = result;
    if (error === undefined) return done(result);
    const said = new Error(`${error.message} (the last export at exit, bounded to ${boundMs} ms${carried})`);
    const { code } = error as Error & { code?: unknown };
    done({ ...result, error: Object.assign(said, code === undefined ? {} : { code }, { [AT_EXIT]: true }) });
  };
}

/** Exports handed to an exporter and not yet answered (waiting their turn included), and their spans. */
export type Outstanding = { exports: number; spans: number };

/**
 * Counts each export as outstanding from the call until its answer (once, however often an
 * exporter calls back; a throw is a failed answer), and tells `settled` whenever one is answered.
 */
function counted<T>(
  exportNow: Exporter<T>['export'],
  o: Outstanding,
  spans: (items: T) => number,
  settled: () => void,
): Exporter<T>['export'] {
  return (items, done) => {
    const n = spans(items);
    o.exports++;
    o.spans += n;
    let answered = false;
    const answer = (result: ExportResult) => {
      if (answered) return;
      answered = true;
      o.exports--;
      o.spans -= n;
      settled();
      done(result);
    };
    exportOrFail(exportNow, items, answer);
  };
}

/** Calls an export; a synchronous throw is its failed answer, so no caller's bookkeeping is skipped. */
function exportOrFail<T>(
  exportNow: Exporter<T>['export'],
  items: T,
  done: (result: ExportResult) => void,
): void {
  try {
    exportNow(items, done);
  } catch (err) {
    done({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) });
  }
}

/** A trace and a metric exporter for one configuration, watched; `handed` sees each span batch taken from the queue. */
export function createExporters(opts: {
  readonly traces?: {
    readonly url: string;
    readonly protocol: OtlpProtocol;
    readonly timeoutMillis: number;
  };
  readonly metrics?: {
    readonly url: string;
    readonly protocol: OtlpProtocol;
    readonly timeoutMillis: number;
  };
  readonly watch: ExportWatch;
  readonly handed: (spans: ReadableSpan[]) => void;
  /** Told of each span export that failed, with its span count: those spans are lost. */
  readonly lost: (spans: number) => void;
}): {
  spans?: SpanExporter;
  metrics?: PushMetricExporter;
  /** From now on each export gives up after `ms` (retries included): the shutdown flush is bounded. */
  bound(ms: number): void;
  /** What each signal has handed over and not had answered: at exit, what a cut-short close gives up. */
  outstanding(): Readonly<Record<Signal, Readonly<Outstanding>>>;
  /** Resolves once no export of either signal waits for an answer. */
  drained(): Promise<void>;
} & Streaks {
  const outstanding: Record<Signal, Outstanding> = {
    traces: { exports: 0, spans: 0 },
    metrics: { exports: 0, spans: 0 },
  };
  const idle = () => outstanding.traces.exports === 0 && outstanding.metrics.exports === 0;
  const waiting: (() => void)[] = [];
  const settled = () => {
    if (idle()) for (const resolve of waiting.splice(0)) resolve();
  };
  const state = new Map<Signal, boolean>();
  const failing = (signal?: Signal) =>
    signal === undefined ? [...state.values()].includes(true) : state.get(signal) === true;
  // Each signal's exporter now, and every one made (all are shut down). bound() swaps in one with
  // a shorter timeout: the OTLP exporter's retries toward a dead collector run to its timeout.
  const shutdownAll = (made: readonly { shutdown(): Promise<void> }[]) => () =>
    Promise.all(made.map((e) => e.shutdown())).then(() => {});
  let spans: SpanExporter | undefined;
  let swapSpans: ((ms: number) => void) | undefined;
  if (opts.traces !== undefined) {
    const { url, protocol, timeoutMillis } = opts.traces;
    const made: { shutdown(): Promise<void> }[] = [];
    // The exporter forgets a finished export a moment after it calls back, when inTurn may already
    // have started the next: its own limit must never be the one that binds.
    const concurrencyLimit = 2 * EXPORTS_AT_ONCE;
    const make = (ms: number) => {
      const e =
        protocol === 'http/json'
          ? new JsonTraceExporter({ url, timeoutMillis: ms, concurrencyLimit })
          : protobufTraceExporter({ url, timeoutMillis: ms, concurrencyLimit });
      made.push(e);
      return e;
    };
    let inner = make(timeoutMillis);
    let bounded: number | undefined;
    swapSpans = (ms) => {
      bounded = Math.min(ms, timeoutMillis);
      if (ms < timeoutMillis) inner = make(ms);
    };
    spans = {
      // `handed` is told when a batch's export starts: spans waiting their turn still count as queued.
      export: counted(
        inTurn(
          watching<ReadableSpan[]>(
            {
              export: (items, done) =>
                inner.export(items, atExit(done, bounded, `; ${items.length} span(s) lost`)),
            },
            'traces',
            opts.watch,
            state,
            opts.handed,
            (items) => opts.lost(items.length),
          ),
          EXPORTS_AT_ONCE,
        ),
        outstanding.traces,
        (items) => items.length,
        settled,
      ),
      shutdown: shutdownAll(made),
      forceFlush: () => inner.forceFlush(),
    };
  }
  let metrics: PushMetricExporter | undefined;
  let swapMetrics: ((ms: number) => void) | undefined;
  if (opts.metrics !== undefined) {
    const { url, protocol, timeoutMillis } = opts.metrics;
    const made: { shutdown(): Promise<void> }[] = [];
    const make = (ms: number) => {
      const e =
        protocol === 'http/json'
          ? new JsonMetricExporter({ url, timeoutMillis: ms })
          : new ProtoMetricExporter({ url, timeoutMillis: ms });
      made.push(e);
      return e;
    };
    let inner = make(timeoutMillis);
    let bounded: number | undefined;
    swapMetrics = (ms) => {
      bounded = Math.min(ms, timeoutMillis);
      if (ms < timeoutMillis) inner = make(ms);
    };
    metrics = {
      export: counted(
        watching<ResourceMetrics>(
          { export: (items, done) => inner.export(items, atExit(done, bounded)) },
          'metrics',
          opts.watch,
          state,
        ),
        outstanding.metrics,
        () => 0,
        settled,
      ),
      shutdown: shutdownAll(made),
      forceFlush: () => inner.forceFlush(),
      // OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE (delta for Datadog) is the exporter's.
      selectAggregationTemporality: (type) => inner.selectAggregationTemporality(type),
      selectAggregation: (type) => inner.selectAggregation(type),
    };
  }
  return {
    ...(spans === undefined ? {} : { spans }),
    ...(metrics === undefined ? {} : { metrics }),
    bound(ms) {
      swapSpans?.(ms);
      swapMetrics?.(ms);
    },
    outstanding: () => outstanding,
    drained: () => (idle() ? Promise.resolve() : new Promise((resolve) => waiting.push(resolve))),
    failing,
  };
}

/** Decision spans through decision-protobuf.ts; any other batch through the official serializer. */
const decisionSerializer: ISerializer<ReadableSpan[], IExportTraceServiceResponse> = {
  serializeRequest: (spans) =>
    (spans.every(isDecisionSpan) ? encodeDecisionSpans(spans) : undefined) ??
    ProtobufTraceSerializer.serializeRequest(spans),
  deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
};

/**
 * OTLP/HTTP protobuf trace export, built as the official exporter (exporter-trace-otlp-proto) builds
 * itself: the same transport, retries, bounded queue, headers, compression and `OTEL_EXPORTER_OTLP_*`
 * settings, with the serializer that writes decision spans at a fraction of the cost.
 */
function protobufTraceExporter(config: OTLPExporterNodeConfigBase): OTLPExporterBase<ReadableSpan[]> {
  const options = convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', {
    'Content-Type': 'application/x-protobuf',
  });
  return new OTLPExporterBase(
    createOtlpHttpExportDelegate(
      options,
      decisionSerializer,
      'otlp_http_span_exporter',
      TraceExporterMetricsHelper,
      undefined,
    ),
  );
}
