import { validateHeaderName, validateHeaderValue } from 'node:http';
import type { MeshwardenError } from '../envelope/index.js';
import { telemetryError } from './errors.js';

export type OtlpProtocol = 'http/protobuf' | 'http/json';
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

/** What the `OTEL_*` variables ask for (the subset of the SDK configuration spec Meshwarden honours). */
export type TelemetryConfig = {
  /** OTLP trace export: where to, how, how long one export may take; absent when traces are off. */
  readonly traces?: { readonly url: string; readonly protocol: OtlpProtocol; readonly timeoutMillis: number };
  /** OTLP metric export: where to, how, how long, and how often; absent when off. */
  readonly metrics?: {
    readonly url: string;
    readonly protocol: OtlpProtocol;
    readonly timeoutMillis: number;
    readonly intervalMs: number;
  };
  /** How long close may wait for the last export: 3 s, or the OTLP timeout when lower. */
  readonly shutdownMillis: number;
  /** The Prometheus text endpoint (`GET /metrics` on `up`) is served from the same instruments. */
  readonly prometheus: boolean;
  readonly sampler: { readonly name: SamplerName; readonly ratio: number };
  readonly batch: {
    readonly maxQueueSize: number;
    readonly maxExportBatchSize: number;
    readonly scheduledDelayMillis: number;
    readonly exportTimeoutMillis: number;
  };
  readonly serviceName: string;
  /** `OTEL_RESOURCE_ATTRIBUTES`, decoded. */
  readonly resource: Readonly<Record<string, string>>;
};

export type Env = Readonly<Record<string, string | undefined>>;

/** MW_TELEMETRY_ENV, with the variable and its value (as set) also as details, for callers and tests. */
function envError(p: { name: string; value: string; problem: string }): MeshwardenError {
  return telemetryError('MW_TELEMETRY_ENV', p, { details: { variable: p.name, value: p.value } });
}

/** The most `run` waits at exit for a collector: a dead one must not hold the command for 10 s. */
const SHUTDOWN_MILLIS = 3000;

const SAMPLERS: readonly SamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];

/**
 * Reads the `OTEL_*` variables. Telemetry is off (undefined) unless asked for: an OTLP endpoint is
 * set, an exporter is named `otlp`, or `prometheus` is true (`up` with a metrics token). Off, too,
 * when `OTEL_SDK_DISABLED=true`, whatever else is set. A value that cannot be right is an error
 * naming the variable, not a silent default.
 */
export function telemetryConfig(
  env: Env,
  opts: { readonly prometheus?: boolean } = {},
): TelemetryConfig | undefined | MeshwardenError {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || undefined;
  const tracesExporter = exporters(env, 'OTEL_TRACES_EXPORTER');
  const metricsExporter = exporters(env, 'OTEL_METRICS_EXPORTER');
  if (typeof tracesExporter === 'object' && !Array.isArray(tracesExporter)) return tracesExporter;
  if (typeof metricsExporter === 'object' && !Array.isArray(metricsExporter)) return metricsExporter;
  const traces = signal(env, 'TRACES', base, tracesExporter);
  if (traces instanceof Error) return traces;
  const metrics = signal(env, 'METRICS', base, metricsExporter);
  if (metrics instanceof Error) return metrics;
  const prometheus = opts.prometheus === true && !metricsExporter.includes('none');
  if (traces === undefined && metrics === undefined && !prometheus) return undefined;

  const sampler = samplerOf(env);
  if (sampler instanceof Error) return sampler;
  const numbers = {
    interval: positive(env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000),
    maxQueueSize: positive(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048),
    maxExportBatchSize: positive(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512),
    scheduledDelayMillis: positive(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000),
    exportTimeoutMillis: positive(env, 'OTEL_BSP_EXPORT_TIMEOUT', 30_000),
  };
  for (const n of Object.values(numbers)) if (typeof n !== 'number') return n;
  const resource = resourceOf(env);
  if (resource instanceof Error) return resource;
  const { interval, ...batch } = numbers as Record<keyof typeof numbers, number>;
  return {
    ...(traces === undefined ? {} : { traces }),
    ...(metrics === undefined ? {} : { metrics: { ...metrics, intervalMs: interval } }),
    shutdownMillis: Math.min(
      SHUTDOWN_MILLIS,
      traces?.timeoutMillis ?? SHUTDOWN_MILLIS,
      metrics?.timeoutMillis ?? SHUTDOWN_MILLIS,
    ),
    prometheus,
    sampler,
    batch: { ...batch, maxExportBatchSize: Math.min(batch.maxExportBatchSize, batch.maxQueueSize) },
    serviceName: env.OTEL_SERVICE_NAME?.trim() || resource['service.name'] || 'meshwarden',
    resource,
  };
}

/** `OTEL_{TRACES,METRICS}_EXPORTER`: a comma list; `otlp`, `none` (and `prometheus` for metrics). */
function exporters(env: Env, name: string): string[] | MeshwardenError {
  const value = env[name]?.trim();
  if (value === undefined || value === '') return [];
  const list = value.split(',').map((s) => s.trim().toLowerCase());
  const known = name === 'OTEL_METRICS_EXPORTER' ? ['otlp', 'none', 'prometheus'] : ['otlp', 'none'];
  const bad = list.find((e) => !known.includes(e));
  if (bad !== undefined) return envError({ name, value, problem: `it may list ${known.join(', ')}` });
  return list;
}

/**
 * One signal's OTLP export: on when its endpoint, the base endpoint or its exporter says `otlp`, and
 * its exporter list (when set) names `otlp`.
 */
function signal(
  env: Env,
  which: 'TRACES' | 'METRICS',
  base: string | undefined,
  exporter: readonly string[],
): { url: string; protocol: OtlpProtocol; timeoutMillis: number } | undefined | MeshwardenError {
  if (exporter.includes('none')) return undefined;
  // A list that leaves otlp out (OTEL_METRICS_EXPORTER=prometheus: scraped, not pushed) is no OTLP
  // export of that signal, whatever endpoint is set for the other.
  if (exporter.length > 0 && !exporter.includes('otlp')) return undefined;
  const own = env[`OTEL_EXPORTER_OTLP_${which}_ENDPOINT`]?.trim() || undefined;
  if (own === undefined && base === undefined && !exporter.includes('otlp')) return undefined;
  // The spec: a signal's own endpoint is used as is; the base one gets /v1/<signal> appended.
  const path = `v1/${which.toLowerCase()}`;
  const url =
    own ?? (base === undefined ? `http://localhost:4318/${path}` : `${base.replace(/\/+$/, '')}/${path}`);
  const urlName = own !== undefined ? `OTEL_EXPORTER_OTLP_${which}_ENDPOINT` : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  if (!/^https?:\/\/[^/\s]+/.test(url))
    return envError({
      name: urlName,
      // The value as set, not with /v1/<signal> appended.
      value: own ?? base ?? url,
      problem: 'it must be an http:// or https:// address, such as http://localhost:4318',
    });
  // The exporter parses it with the WHATWG URL parser and throws at start on what it refuses (a port
  // past 65535, an unclosed [ipv6): refused here, as a value, with the variable's name.
  if (!URL.canParse(url))
    return envError({
      name: urlName,
      value: own ?? base ?? url,
      problem: 'it is not a URL that can be parsed (a port from 1 to 65535, a host name or [IPv6] address)',
    });
  const protocolName = env[`OTEL_EXPORTER_OTLP_${which}_PROTOCOL`]?.trim()
    ? `OTEL_EXPORTER_OTLP_${which}_PROTOCOL`
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = env[protocolName]?.trim() || 'http/protobuf';
  if (protocol !== 'http/protobuf' && protocol !== 'http/json')
    return envError({
      name: protocolName,
      value: protocol,
      problem:
        'Meshwarden exports OTLP over HTTP: http/protobuf (the default) or http/json; grpc is not supported',
    });
  const timeoutName = env[`OTEL_EXPORTER_OTLP_${which}_TIMEOUT`]?.trim()
    ? `OTEL_EXPORTER_OTLP_${which}_TIMEOUT`
    : 'OTEL_EXPORTER_OTLP_TIMEOUT';
  const timeoutMillis = positive(env, timeoutName, 10_000);
  if (typeof timeoutMillis !== 'number') return timeoutMillis;
  // Read by the exporter, which would ignore a wrong one without a word: checked here.
  for (const name of ['OTEL_EXPORTER_OTLP_COMPRESSION', `OTEL_EXPORTER_OTLP_${which}_COMPRESSION`]) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '' && value !== 'gzip' && value !== 'none')
      return envError({ name, value, problem: 'it may be gzip or none' });
  }
  const given = env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE;
  const temporality = given?.trim().toLowerCase();
  if (which === 'METRICS' && temporality && !['cumulative', 'delta', 'lowmemory'].includes(temporality))
    return envError({
      name: 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
      // Quoted as it was set, as every other variable's value is.
      value: given ?? '',
      problem: 'it may be cumulative (the default), delta (Datadog) or lowmemory',
    });
  for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', `OTEL_EXPORTER_OTLP_${which}_HEADERS`]) {
    const headers = pairsOf(env, name);
    if (headers instanceof Error) return headers;
  }
  return { url, protocol, timeoutMillis };
}

function samplerOf(env: Env): { name: SamplerName; ratio: number } | MeshwardenError {
  const name = (env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || 'parentbased_always_on') as SamplerName;
  if (!SAMPLERS.includes(name))
    return envError({
      name: 'OTEL_TRACES_SAMPLER',
      value: name,
      problem: `it may be ${SAMPLERS.join(', ')}`,
    });
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  if (!name.endsWith('traceidratio') || arg === undefined || arg === '') return { name, ratio: 1 };
  const ratio = Number(arg);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1)
    return envError({
      name: 'OTEL_TRACES_SAMPLER_ARG',
      value: arg,
      problem: 'it must be a number from 0 to 1',
    });
  return { name, ratio };
}

function positive(env: Env, name: string, fallback: number): number | MeshwardenError {
  const value = env[name]?.trim();
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    return envError({ name, value, problem: 'it must be a whole number above 0' });
  return n;
}

/** `OTEL_RESOURCE_ATTRIBUTES`: `key=value` pairs, comma-separated, percent-encoded (W3C Baggage). */
function resourceOf(env: Env): Record<string, string> | MeshwardenError {
  return pairsOf(env, 'OTEL_RESOURCE_ATTRIBUTES');
}

/** `key=value` pairs, comma-separated, percent-encoded (W3C Baggage): resource attributes, OTLP headers. */
function pairsOf(env: Env, name: string): Record<string, string> | MeshwardenError {
  const value = env[name]?.trim();
  const out: Record<string, string> = {};
  if (value === undefined || value === '') return out;
  for (const pair of value.split(',')) {
    const at = pair.indexOf('=');
    const key = at < 0 ? '' : pair.slice(0, at).trim();
    let decoded: string | undefined;
    try {
      decoded = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      decoded = undefined;
    }
    if (key === '' || decoded === undefined) {
      // A header may hold a secret (an API key): its value is not repeated.
      const secret = name.endsWith('_HEADERS');
      return envError({
        name,
        value: secret ? '…' : value,
        problem: secret
          ? 'it must be key=value pairs, comma-separated, percent-encoded (DD-API-KEY=…,Authorization=Basic%20…)'
          : `"${pair}" is not key=value (percent-encoded)`,
      });
    }
    // A header Node would refuse to send (a line break in its value, a space in its name) failed
    // every export, each with a warning; it is refused here, at the start, like any other slip.
    if (name.endsWith('_HEADERS') && !sendable(key, decoded))
      return envError({
        name,
        value: '…',
        problem: `its header ${JSON.stringify(key)} cannot be sent: a name is letters, digits and !#$%&'*+-.^_\`|~, a value has no line breaks or other control characters`,
      });
    out[key] = decoded;
  }
  return out;
}

/** Whether Node's HTTP client would send this header. */
function sendable(key: string, value: string): boolean {
  try {
    validateHeaderName(key);
    validateHeaderValue(key, value);
    return true;
  } catch {
    return false;
  }
}
