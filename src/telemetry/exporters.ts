import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { OtlpProtocol } from './config.js';

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
): Exporter<T>['export'] {
  return (items, done) => {
    handed?.(items);
    inner.export(items, (result) => {
      if (result.code === ExportResultCode.SUCCESS) {
        if (state.get(signal) === true) watch.recovered(signal);
        state.set(signal, false);
        done(result);
        return;
      }
      const error = result.error ?? new Error(`${signal} export failed`);
      if (state.get(signal) !== true) watch.failed(signal, error);
      state.set(signal, true);
      done({ code: result.code, error });
    });
  };
}

/** A trace and a metric exporter for one configuration, watched; `handed` sees each span batch taken from the queue. */
export function createExporters(opts: {
  readonly traces?: { readonly url: string; readonly protocol: OtlpProtocol };
  readonly metrics?: { readonly url: string; readonly protocol: OtlpProtocol };
  readonly timeoutMillis?: number;
  readonly watch: ExportWatch;
  readonly handed: (spans: ReadableSpan[]) => void;
}): { spans?: SpanExporter; metrics?: PushMetricExporter } & Streaks {
  const state = new Map<Signal, boolean>();
  const timeout = opts.timeoutMillis === undefined ? {} : { timeoutMillis: opts.timeoutMillis };
  const failing = (signal?: Signal) =>
    signal === undefined ? [...state.values()].includes(true) : state.get(signal) === true;
  let spans: SpanExporter | undefined;
  if (opts.traces !== undefined) {
    const { url, protocol } = opts.traces;
    const inner =
      protocol === 'http/json'
        ? new JsonTraceExporter({ url, ...timeout })
        : new ProtoTraceExporter({ url, ...timeout });
    spans = {
      export: watching<ReadableSpan[]>(inner, 'traces', opts.watch, state, opts.handed),
      shutdown: () => inner.shutdown(),
      forceFlush: () => inner.forceFlush(),
    };
  }
  let metrics: PushMetricExporter | undefined;
  if (opts.metrics !== undefined) {
    const { url, protocol } = opts.metrics;
    const inner =
      protocol === 'http/json'
        ? new JsonMetricExporter({ url, ...timeout })
        : new ProtoMetricExporter({ url, ...timeout });
    metrics = {
      export: watching<ResourceMetrics>(inner, 'metrics', opts.watch, state),
      shutdown: () => inner.shutdown(),
      forceFlush: () => inner.forceFlush(),
      // OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE (delta for Datadog) is the exporter's.
      selectAggregationTemporality: (type) => inner.selectAggregationTemporality(type),
      selectAggregation: (type) => inner.selectAggregation(type),
    };
  }
  return {
    ...(spans === undefined ? {} : { spans }),
    ...(metrics === undefined ? {} : { metrics }),
    failing,
  };
}
