import type { Logger } from 'pino';
import type { MeshwardenError } from '../runtime/index.js';
import type { MetricsEndpoint } from '../server/index.js';
import {
  createTelemetry,
  type Env,
  PROMETHEUS_CONTENT_TYPE,
  type Telemetry,
  telemetryConfig,
  telemetryError,
} from '../telemetry/index.js';

/** The package version, as `meshwarden --version` says it: `service.version` on every span and metric. */
const VERSION = '0.1.0';
/** A scrape token shorter than this is refused: it guards the endpoint on its own. */
const MIN_TOKEN = 16;
/**
 * What a scraper can send after `Authorization: Bearer ` and the API reads back (one run of visible
 * ASCII, server/auth.ts): no space, tab or other control character, nothing outside ASCII.
 */
const BEARER_TOKEN = /^[\x21-\x7e]+$/;
/** A refused scrape token: named, its value never said. */
const tokenError = (problem: string) =>
  telemetryError(
    'MW_TELEMETRY_ENV',
    { name: 'MESHWARDEN_METRICS_TOKEN', value: '…', problem },
    { details: { variable: 'MESHWARDEN_METRICS_TOKEN' } },
  );

/** Telemetry as the CLI turns it on: for the mesh (its port), for `up`'s /metrics, and closed last. */
export type CliTelemetry = {
  /** Absent when off (no OTEL_* asks for it and no metrics token): the mesh keeps its no-op port. */
  readonly telemetry?: Telemetry;
  /** `up`'s `GET /metrics`, when MESHWARDEN_METRICS_TOKEN is set. */
  readonly metrics?: MetricsEndpoint;
  [Symbol.asyncDispose](): Promise<void>;
};

/**
 * Reads the `OTEL_*` variables (and, for `up`, MESHWARDEN_METRICS_TOKEN) and starts the exporters
 * they ask for. Export failures (a collector away) are logged at warn, never thrown into the mesh.
 */
export function cliTelemetry(
  env: Env,
  log: Logger,
  opts: {
    readonly serveMetrics: boolean;
    /** A line for the user on stderr: said when the last export keeps a command waiting. */
    readonly note?: (text: string) => void;
  },
): CliTelemetry | MeshwardenError {
  const token = opts.serveMetrics ? env.MESHWARDEN_METRICS_TOKEN?.trim() || undefined : undefined;
  if (token !== undefined && token.length < MIN_TOKEN)
    return tokenError(`it must be at least ${MIN_TOKEN} characters (openssl rand -hex 32 makes one)`);
  if (token !== undefined && !BEARER_TOKEN.test(token))
    return tokenError(
      'it must be visible ASCII characters with no space: a scraper sends it after "Authorization: Bearer ", where a space, a control character or a non-ASCII one could never match (openssl rand -hex 32 makes one)',
    );
  const config = telemetryConfig(env, { prometheus: token !== undefined });
  if (config instanceof Error) return config;
  const tlog = log.child({ layer: 'telemetry' });
  // The spec reads any value but `true` as false, and asks that one neither true nor false be warned of.
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() ?? '';
  if (disabled !== '' && disabled !== 'true' && disabled !== 'false')
    tlog.warn(
      { variable: 'OTEL_SDK_DISABLED', value: env.OTEL_SDK_DISABLED },
      'OTEL_SDK_DISABLED is neither true nor false: read as false, so telemetry is not disabled (only true disables it)',
    );
  // Set but empty (a template's `MESHWARDEN_METRICS_TOKEN=`): no /metrics, said rather than silent.
  if (opts.serveMetrics && env.MESHWARDEN_METRICS_TOKEN !== undefined && token === undefined)
    tlog.warn(
      { variable: 'MESHWARDEN_METRICS_TOKEN' },
      'MESHWARDEN_METRICS_TOKEN is set but empty: GET /metrics is not served (give it a token of 16 characters or more)',
    );
  // A token set while metrics are off: /metrics answers 404, so say why at start, not never.
  if (token !== undefined && config?.prometheus !== true)
    tlog.warn(
      {
        because:
          env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true'
            ? 'OTEL_SDK_DISABLED=true'
            : 'OTEL_METRICS_EXPORTER=none',
      },
      'MESHWARDEN_METRICS_TOKEN is set but metrics are off: GET /metrics answers 404',
    );
  if (config === undefined) {
    sayIgnored(env, tlog);
    return { [Symbol.asyncDispose]: async () => {} };
  }
  // The spec has the batch at most the queue: one set larger is cut to it, and said.
  const askedBatch = Number(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE?.trim());
  if (config.traces !== undefined && askedBatch > config.batch.maxExportBatchSize)
    tlog.warn(
      { variable: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', value: env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE },
      `OTEL_BSP_MAX_EXPORT_BATCH_SIZE is over OTEL_BSP_MAX_QUEUE_SIZE: batches of at most ${config.batch.maxExportBatchSize} spans are exported`,
    );
  const urls = { traces: config.traces?.url, metrics: config.metrics?.url };
  const endpointOf = (signal: 'traces' | 'metrics' | undefined): { endpoint?: string } => {
    const url = signal === undefined ? undefined : urls[signal];
    return url === undefined ? {} : { endpoint: url };
  };
  /** When each signal's current failure streak began. */
  const failingSince = new Map<string, number>();
  const telemetry = createTelemetry({
    config,
    version: VERSION,
    // Once per failure streak of a signal (a collector away is one warning, not one per interval).
    onError: (err, signal) => {
      if (signal !== undefined) failingSince.set(signal, Date.now());
      tlog.warn({ signal, ...endpointOf(signal), ...exportFailure(err) }, 'telemetry export failed');
    },
    // At warn as the failure was: whoever watches warnings sees it clear, and for how long it failed.
    onRecover: (signal) => {
      const since = failingSince.get(signal);
      failingSince.delete(signal);
      const failedFor =
        since === undefined ? {} : { failedForSeconds: Math.round((Date.now() - since) / 1000) };
      tlog.warn({ signal, ...endpointOf(signal), ...failedFor }, 'telemetry export recovered');
    },
  });
  tlog.info(
    {
      traces: config.traces?.url,
      metrics: config.metrics?.url,
      prometheus: config.prometheus,
      sampler: config.sampler.name,
    },
    'telemetry on',
  );
  // Whatever the log level: where traces and metrics go is the first thing an SRE checks.
  const to = [
    config.traces === undefined
      ? undefined
      : `traces to ${config.traces.url} (sampler ${samplerText(config.sampler)})`,
    config.metrics === undefined ? undefined : `metrics to ${config.metrics.url}`,
  ].filter((t) => t !== undefined);
  if (to.length > 0) opts.note?.(`OpenTelemetry on: ${to.join(', ')}`);
  const metrics: MetricsEndpoint | undefined =
    token === undefined || !config.prometheus
      ? undefined
      : { token, contentType: PROMETHEUS_CONTENT_TYPE, scrape: () => telemetry.scrape() };
  const endpoints = [...new Set([urls.traces, urls.metrics])].filter((u) => u !== undefined);
  return {
    telemetry,
    ...(metrics === undefined ? {} : { metrics }),
    async [Symbol.asyncDispose]() {
      // Quick toward a collector that answers; toward one that does not, say why nothing happens.
      const slow = setTimeout(
        () =>
          opts.note?.(
            `sending the last telemetry to ${endpoints.join(' and ')} (at most ${(config.shutdownMillis + 500) / 1000} s more) …`,
          ),
        SLOW_CLOSE_MS,
      );
      try {
        await telemetry.close();
      } finally {
        clearTimeout(slow);
      }
    },
  };
}

/** How long the last export may take before the user is told the command waits for it. */
const SLOW_CLOSE_MS = 500;

/** An export's failure as words: a collector away is an outcome, not a bug, so no stack through the exporter. */
/**
 * A failed export as a log line's fields: the error's first line (TLS errors carry OpenSSL's source
 * path after a colon-separated prefix, and a line break), its code, and what the collector answered
 * (the OTLP exporter keeps the response body in `data`: a tenant or auth problem is said there),
 * bounded.
 */
export function exportFailure(err: Error): { error: string; code?: unknown; response?: string } {
  const { code, data } = err as { code?: unknown; data?: unknown };
  const opensslReason = /:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+)/.exec(err.message)?.[1];
  const error =
    opensslReason === undefined
      ? err.message.split('\n')[0]!.trim()
      : `TLS: ${opensslReason}${opensslReason === 'wrong version number' ? ' (an https:// endpoint whose collector speaks plain HTTP?)' : ''}`;
  const response =
    typeof data === 'string' && data.trim() !== '' ? data.trim().slice(0, RESPONSE_CHARS) : undefined;
  return { error, ...(code === undefined ? {} : { code }), ...(response === undefined ? {} : { response }) };
}

/** How much of a collector's answer a failed export's log line quotes. */
const RESPONSE_CHARS = 500;

/** A sampler as the start-up line says it: a ratio sampler with its ratio. */
function samplerText(sampler: { readonly name: string; readonly ratio: number }): string {
  return sampler.name.endsWith('traceidratio') ? `${sampler.name} ${sampler.ratio}` : sampler.name;
}

/**
 * Telemetry is off (nothing asked for an export), yet OTEL_* settings are there: a protocol or
 * sampler set for an endpoint left out or misspelt. Said once, at warn, with the variables, so a
 * user who meant to export learns why nothing goes out (`OTEL_SDK_DISABLED=true` says off itself).
 */
function sayIgnored(env: Env, log: Logger): void {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return;
  // Exporters chosen (`none`, or `prometheus` where nothing serves it): off by choice, not by a slip.
  if (env.OTEL_TRACES_EXPORTER?.trim() || env.OTEL_METRICS_EXPORTER?.trim()) return;
  const set = Object.keys(env)
    .filter((name) => name.startsWith('OTEL_') && name !== 'OTEL_SDK_DISABLED' && env[name]?.trim())
    .sort();
  if (set.length === 0) return;
  log.warn(
    { variables: set },
    `telemetry is off: ${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set, but no OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT) and no exporter named otlp (OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER) turns export on; those settings are not read`,
  );
}
