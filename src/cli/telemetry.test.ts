import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { cliTelemetry, exportFailure } from './telemetry.js';

/** A pino logger whose lines the test reads. */
function logged() {
  const lines: { level: number; msg: string; because?: string; variable?: string; value?: string }[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

const TOKEN = 'x'.repeat(32);

describe('cliTelemetry', () => {
  it.each([
    [{ OTEL_SDK_DISABLED: 'true' }, 'OTEL_SDK_DISABLED=true'],
    [{ OTEL_METRICS_EXPORTER: 'none' }, 'OTEL_METRICS_EXPORTER=none'],
    [{ OTEL_METRICS_EXPORTER: 'none', OTEL_TRACES_EXPORTER: 'otlp' }, 'OTEL_METRICS_EXPORTER=none'],
  ])('warns at start when a metrics token is set but metrics are off (%o)', async (env, because) => {
    const { log, lines } = logged();
    const started = cliTelemetry({ MESHWARDEN_METRICS_TOKEN: TOKEN, ...env }, log, { serveMetrics: true });
    if (started instanceof Error) throw started;
    await started[Symbol.asyncDispose]();
    expect(started.metrics).toBeUndefined();
    expect(lines.filter((l) => l.level === 40).map((l) => l.because)).toEqual([because]);
  });

  it.each([['has spaces in it'], ['tab\tinside-the-token'], ['not-ascii-tökén-value']])(
    'refuses a metrics token no scraper could send as a bearer token (%s)',
    (token) => {
      const { log } = logged();
      const refused = cliTelemetry({ MESHWARDEN_METRICS_TOKEN: `${token}-0123456789` }, log, {
        serveMetrics: true,
      });
      expect(refused).toMatchObject({
        code: 'MW_TELEMETRY_ENV',
        details: { variable: 'MESHWARDEN_METRICS_TOKEN' },
      });
    },
  );

  it.each([['1'], ['yes']])('warns that OTEL_SDK_DISABLED=%s does not disable telemetry', async (value) => {
    const { log, lines } = logged();
    const started = cliTelemetry({ OTEL_SDK_DISABLED: value, OTEL_METRICS_EXPORTER: 'none' }, log, {
      serveMetrics: false,
    });
    if (started instanceof Error) throw started;
    await started[Symbol.asyncDispose]();
    expect(lines.filter((l) => l.level === 40)).toEqual([
      expect.objectContaining({ variable: 'OTEL_SDK_DISABLED', value }),
    ]);
  });

  it('takes any visible ASCII token a scraper can send (a colon, a quote, a dollar sign)', async () => {
    const { log } = logged();
    const started = cliTelemetry({ MESHWARDEN_METRICS_TOKEN: 'Xk9$q!r@2v#Lp8zW:"4m' }, log, {
      serveMetrics: true,
    });
    if (started instanceof Error) throw started;
    await started[Symbol.asyncDispose]();
    expect(started.metrics).toBeDefined();
  });

  it('says nothing of the kind when the token serves /metrics', async () => {
    const { log, lines } = logged();
    const started = cliTelemetry({ MESHWARDEN_METRICS_TOKEN: TOKEN }, log, { serveMetrics: true });
    if (started instanceof Error) throw started;
    await started[Symbol.asyncDispose]();
    expect(started.metrics).toBeDefined();
    expect(lines.filter((l) => l.level === 40)).toEqual([]);
  });
});

describe('cliTelemetry at start', () => {
  it('warns of a metrics token set but empty', async () => {
    const { log, lines } = logged();
    const started = cliTelemetry({ MESHWARDEN_METRICS_TOKEN: '' }, log, { serveMetrics: true });
    if (started instanceof Error) throw started;
    await started[Symbol.asyncDispose]();
    expect(started.metrics).toBeUndefined();
    expect(lines.filter((l) => l.level === 40).map((l) => l.variable)).toEqual(['MESHWARDEN_METRICS_TOKEN']);
  });

  it('says where traces and metrics go, whatever the log level', async () => {
    const notes: string[] = [];
    const { log } = logged();
    const endpoint = 'http://127.0.0.1:9';
    const started = cliTelemetry(
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_METRICS_EXPORTER: 'none' },
      log,
      {
        serveMetrics: false,
        note: (text) => notes.push(text),
      },
    );
    if (started instanceof Error) throw started;
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain(`${endpoint}/v1/traces`);
    expect(notes[0]).not.toContain('metrics to');
    await started[Symbol.asyncDispose]();
  });

  it('warns of a batch size over the queue, which is cut to it', async () => {
    const { log, lines } = logged();
    const started = cliTelemetry(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '5000',
      },
      log,
      { serveMetrics: false },
    );
    if (started instanceof Error) throw started;
    expect(lines.filter((l) => l.level === 40).map((l) => l.variable)).toEqual([
      'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
    ]);
    await started[Symbol.asyncDispose]();
  });

  it("names a ratio sampler's ratio in the start-up line", async () => {
    const notes: string[] = [];
    const started = cliTelemetry(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      },
      logged().log,
      { serveMetrics: false, note: (text) => notes.push(text) },
    );
    if (started instanceof Error) throw started;
    expect(notes[0]).toContain('(sampler parentbased_traceidratio 0.25)');
    await started[Symbol.asyncDispose]();
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, ['OTEL_EXPORTER_OTLP_PROTOCOL']],
    [
      { OTEL_EXPORTER_OTPL_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'sometimes' },
      ['OTEL_EXPORTER_OTPL_ENDPOINT', 'OTEL_TRACES_SAMPLER'],
    ],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, undefined],
    [
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_TRACES_EXPORTER: 'none',
        OTEL_METRICS_EXPORTER: 'none',
      },
      undefined,
    ],
    [{}, undefined],
  ])('with telemetry off, warns once of the OTEL_* settings nothing reads: %o', async (env, named) => {
    const { log, lines } = logged();
    const started = cliTelemetry(env, log, { serveMetrics: false });
    if (started instanceof Error) throw started;
    expect(started.telemetry).toBeUndefined();
    const warned = lines.filter((l) => l.level === 40) as unknown as { variables?: string[] }[];
    expect(warned.map((l) => l.variables)).toEqual(named === undefined ? [] : [named]);
    await started[Symbol.asyncDispose]();
  });
});

describe('exportFailure', () => {
  it('quotes what the collector answered, bounded', () => {
    const err = Object.assign(new Error('Bad Request'), { code: 400, data: 'bad request: unknown tenant\n' });
    expect(exportFailure(err)).toEqual({
      error: 'Bad Request',
      code: 400,
      response: 'bad request: unknown tenant',
    });
    const long = Object.assign(new Error('Bad Request'), { code: 400, data: 'x'.repeat(2_000) });
    expect(exportFailure(long).response).toHaveLength(500);
  });

  it('says a TLS failure in one line, without OpenSSL’s source path', () => {
    const err = Object.assign(
      new Error(
        'write EPROTO 40FD82079D7F0000:error:0A00010B:SSL routines:tls_validate_record_header:wrong version number:../deps/openssl/openssl/ssl/record/methods/tlsany_meth.c:77:\n',
      ),
      { code: 'EPROTO' },
    );
    const fields = exportFailure(err);
    expect(fields.code).toBe('EPROTO');
    expect(fields.error).toMatch(/^TLS: wrong version number/);
    expect(fields.error).not.toMatch(/deps|\n/);
  });
});
