import { describe, expect, it } from 'vitest';
import { telemetryConfig } from './config.js';

describe('telemetryConfig (OTEL_* variables)', () => {
  it.each([
    { env: {}, why: 'nothing asks for it' },
    {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' },
      why: 'the SDK is disabled',
    },
    {
      env: {
        OTEL_TRACES_EXPORTER: 'none',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c',
      },
      why: 'both exporters none',
    },
  ])('is off when $why', ({ env }) => {
    expect(telemetryConfig(env)).toBeUndefined();
  });

  it('appends /v1/<signal> to the base endpoint; a signal endpoint is used as is', () => {
    const config = telemetryConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://other:9999/custom',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    });
    expect(config).toMatchObject({
      traces: { url: 'http://collector:4318/v1/traces', protocol: 'http/json' },
      metrics: { url: 'http://other:9999/custom', protocol: 'http/protobuf', intervalMs: 60_000 },
      prometheus: false,
      sampler: { name: 'parentbased_always_on', ratio: 1 },
      serviceName: 'meshwarden',
    });
  });

  it('reads the service name, resource attributes, sampler, batch and interval', () => {
    const config = telemetryConfig(
      {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_METRICS_EXPORTER: 'prometheus',
        OTEL_SERVICE_NAME: 'warden-eu',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod, team=a%2Cb',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
        OTEL_BSP_MAX_QUEUE_SIZE: '100',
        OTEL_BSP_SCHEDULE_DELAY: '250',
      },
      { prometheus: true },
    );
    expect(config).toMatchObject({
      traces: { url: 'http://localhost:4318/v1/traces', protocol: 'http/protobuf' },
      prometheus: true,
      serviceName: 'warden-eu',
      resource: { 'deployment.environment.name': 'prod', team: 'a,b' },
      sampler: { name: 'parentbased_traceidratio', ratio: 0.25 },
      // The batch never exceeds the queue.
      batch: { maxQueueSize: 100, maxExportBatchSize: 100, scheduledDelayMillis: 250 },
    });
    expect(config).not.toHaveProperty('metrics');
  });

  it.each([
    [{ OTEL_METRICS_EXPORTER: 'prometheus' }, { prometheus: true, metrics: false }],
    [{ OTEL_METRICS_EXPORTER: 'otlp,prometheus' }, { prometheus: true, metrics: true }],
    [{}, { prometheus: true, metrics: true }],
  ])(
    'with an endpoint set, pushes metrics over OTLP only when the exporter list names otlp or is unset: %o',
    (env, want) => {
      const config = telemetryConfig(
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', ...env },
        { prometheus: true },
      );
      if (config === undefined || config instanceof Error) throw new Error('no config');
      expect(config.prometheus).toBe(want.prometheus);
      expect(config.metrics !== undefined).toBe(want.metrics);
      // Traces still go to the endpoint.
      expect(config.traces?.url).toBe('http://c:4318/v1/traces');
    },
  );

  it.each([
    [{}, 3000],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: '1500' }, 1500],
    [{ OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '800' }, 800],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: '60000' }, 3000],
  ])('bounds the shutdown flush by 3 s or the OTLP timeout: %o → %i ms', (env, ms) => {
    const config = telemetryConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', ...env });
    expect(config).toMatchObject({ shutdownMillis: ms });
  });

  it.each([
    [
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
    ],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }],
    // Shaped like a URL, refused by the URL parser the exporter runs at start (it threw there).
    ['OTEL_EXPORTER_OTLP_ENDPOINT', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:99999' }],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://[::1' }],
    [
      'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
      { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://localhost:99999/v1/metrics' },
    ],
    ['OTEL_TRACES_SAMPLER', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'sometimes' }],
    [
      'OTEL_TRACES_SAMPLER_ARG',
      { OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' },
    ],
    ['OTEL_METRIC_EXPORT_INTERVAL', { OTEL_METRICS_EXPORTER: 'otlp', OTEL_METRIC_EXPORT_INTERVAL: '-5' }],
    ['OTEL_TRACES_EXPORTER', { OTEL_TRACES_EXPORTER: 'zipkin' }],
    ['OTEL_RESOURCE_ATTRIBUTES', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_RESOURCE_ATTRIBUTES: 'novalue' }],
    [
      'OTEL_EXPORTER_OTLP_TIMEOUT',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_TIMEOUT: 'abc' },
    ],
    [
      'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '0' },
    ],
    [
      'OTEL_EXPORTER_OTLP_COMPRESSION',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' },
    ],
    [
      'OTEL_EXPORTER_OTLP_METRICS_COMPRESSION',
      { OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'br' },
    ],
    [
      'OTEL_EXPORTER_OTLP_HEADERS',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_HEADERS: 'garbage' },
    ],
    [
      'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
      { OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'deltas' },
    ],
    [
      'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
      { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'a=b,=c' },
    ],
    // Headers Node would not send: a line break in a value (raw or percent-encoded), a space in a name.
    [
      'OTEL_EXPORTER_OTLP_HEADERS',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_HEADERS: 'a=b\r\nX: y' },
    ],
    [
      'OTEL_EXPORTER_OTLP_HEADERS',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_HEADERS: 'a=b%0D%0AX:%20y' },
    ],
    [
      'OTEL_EXPORTER_OTLP_METRICS_HEADERS',
      { OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'api key=x' },
    ],
  ])('refuses a wrong %s with MW_TELEMETRY_ENV naming it', (name, env) => {
    const config = telemetryConfig(env);
    expect(config).toBeInstanceOf(Error);
    expect(config).toMatchObject({ code: 'MW_TELEMETRY_ENV', details: { variable: name } });
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_ENDPOINT', { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'collector:4318'],
    [
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://c/v1/traces' },
      'ftp://c/v1/traces',
    ],
    [
      'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
      { OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'Delta2' },
      'Delta2',
    ],
  ])('quotes %s as set (nothing appended)', (_name, env, value) => {
    expect(telemetryConfig(env)).toMatchObject({ code: 'MW_TELEMETRY_ENV', details: { value } });
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }],
    [{ OTEL_EXPORTER_OTLP_COMPRESSION: 'none' }],
    [{ OTEL_EXPORTER_OTLP_HEADERS: 'DD-API-KEY=abc,Authorization=Basic%20eHk=' }],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: '2500' }],
    [{ OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta' }],
  ])('accepts %o', (env) => {
    expect(telemetryConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', ...env })).not.toBeInstanceOf(
      Error,
    );
  });
});
