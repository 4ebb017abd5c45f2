import { readdirSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import type { Meter } from '@opentelemetry/api';
import {
  type AggregationTemporalitySelector,
  MeterProvider,
  type MetricProducer,
  MetricReader,
} from '@opentelemetry/sdk-metrics';

/**
 * The process's own health, as any Node service is watched beside what it does: the official
 * runtime instrumentation (`@opentelemetry/instrumentation-runtime-node`: event-loop delay and
 * utilization, garbage collection pauses, V8 heap spaces, active handles) and the process
 * instruments of the semantic conventions (`process.cpu.time`, `process.memory.usage`,
 * `process.uptime`; `process.open_fds`, as Prometheus clients name it; and `v8js.memory.heap.limit`, which the
 * instrumentation leaves out), read at collection time. docs/telemetry.md lists them.
 *
 * The runtime instrumentation is imported when metrics are on, not with this module: it costs every
 * CLI command about 60 ms to load, and only `up` and `run` with metrics read it. `ready` settles once
 * it records (a failed import is told to `onError`, and the process instruments stay).
 */
export type ProcessWatch = { readonly ready: Promise<void>; stop(): void };

/**
 * Where one metric reader reads the runtime instrumentation from. Its event-loop delay and
 * utilization gauges cover the time since the last collection and start a new window at each: one
 * instrumentation shared by a scrape and an OTLP export would give each only what came since the
 * other's last collection (a scrape just after an export saw no delay at all). So each reader has an
 * instrumentation of its own, on a MeterProvider of its own, read through `producer` (the reader's
 * metricProducers, as the hop metrics are), with the reader's temporality.
 */
export type RuntimeSource = { readonly producer: MetricProducer; readonly meters: MeterProvider };

export function runtimeSource(temporality: AggregationTemporalitySelector): RuntimeSource {
  const reader = new SourceReader({ aggregationTemporalitySelector: temporality });
  const meters = new MeterProvider({ readers: [reader] });
  return { meters, producer: { collect: (options) => reader.collect(options) } };
}

/**
 * A reader that only collects when its producer is asked to: nothing to flush, nothing to stop. A
 * class because the SDK's MetricReader is one, to be extended (the only way to read a MeterProvider).
 */
class SourceReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The process instruments on `meters` (every reader's), the runtime instrumentation on each source. */
export function watchProcess(
  meters: MeterProvider,
  sources: readonly RuntimeSource[],
  onError: (err: unknown) => void,
): ProcessWatch {
  observeProcess(meters.getMeter('meshwarden.process'));
  let stopped = false;
  const stops: (() => void)[] = [];
  const ready = import('@opentelemetry/instrumentation-runtime-node').then(
    ({ RuntimeNodeInstrumentation }) => {
      if (stopped) return;
      for (const source of sources) {
        // Made disabled, so that its collectors never start on the global (no-op) meter provider.
        const runtime = new RuntimeNodeInstrumentation({ enabled: false });
        runtime.setMeterProvider(source.meters);
        runtime.enable();
        stops.push(() => runtime.disable());
      }
    },
    onError,
  );
  return {
    ready,
    stop() {
      stopped = true;
      for (const stop of stops.splice(0)) stop();
      for (const source of sources) void source.meters.shutdown();
    },
  };
}

function observeProcess(meter: Meter): void {
  const cpu = meter.createObservableCounter('process.cpu.time', {
    unit: 's',
    description: 'CPU time this process used, by mode (user, system): all its threads.',
  });
  const memory = meter.createObservableUpDownCounter('process.memory.usage', {
    unit: 'By',
    description: 'Resident memory of this process (RSS).',
  });
  const uptime = meter.createObservableGauge('process.uptime', {
    unit: 's',
    description: 'Time since this process started: it falls back to near 0 at a restart.',
  });
  // Named as Prometheus clients name it: the semantic conventions' `process.unix.file_descriptor.count`
  // ends in `_count` in Prometheus, which its linter reserves for histograms and summaries.
  const descriptors = meter.createObservableUpDownCounter('process.open_fds', {
    unit: '{file_descriptor}',
    description: 'File descriptors this process holds open (Linux: /proc/self/fd).',
  });
  const heapLimit = meter.createObservableUpDownCounter('v8js.memory.heap.limit', {
    unit: 'By',
    description: "The V8 heap's size limit (--max-old-space-size): past it the process dies out of memory.",
  });
  const user = { 'cpu.mode': 'user' };
  const system = { 'cpu.mode': 'system' };
  meter.addBatchObservableCallback(
    (result) => {
      const used = process.cpuUsage();
      result.observe(cpu, used.user / 1e6, user);
      result.observe(cpu, used.system / 1e6, system);
      result.observe(memory, process.memoryUsage.rss());
      result.observe(uptime, process.uptime());
      result.observe(heapLimit, getHeapStatistics().heap_size_limit);
      const open = openDescriptors();
      if (open !== undefined) result.observe(descriptors, open);
    },
    [cpu, memory, uptime, descriptors, heapLimit],
  );
}

/** How many file descriptors this process holds, where /proc says (Linux); undefined elsewhere. */
function openDescriptors(): number | undefined {
  try {
    // The listing's own descriptor is in it.
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}
