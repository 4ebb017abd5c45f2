import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { cliTelemetry } from './telemetry.js';

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
