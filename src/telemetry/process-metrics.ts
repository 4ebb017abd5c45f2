import { readdirSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import type { Meter } from '@opentelemetry/api';
import type { MeterProvider } from '@opentelemetry/sdk-metrics';

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

export function watchProcess(meters: MeterProvider, onError: (err: unknown) => void): ProcessWatch {
  observeProcess(meters.getMeter('meshwarden.process'));
  let stopped = false;
  let stopRuntime = () => {};
  const ready = import('@opentelemetry/instrumentation-runtime-node').then(
    ({ RuntimeNodeInstrumentation }) => {
      if (stopped) return;
      // Made disabled, so that its collectors never start on the global (no-op) meter provider.
      const runtime = new RuntimeNodeInstrumentation({ enabled: false });
      runtime.setMeterProvider(meters);
      runtime.enable();
      stopRuntime = () => runtime.disable();
    },
    onError,
  );
  return {
    ready,
    stop() {
      stopped = true;
      stopRuntime();
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
