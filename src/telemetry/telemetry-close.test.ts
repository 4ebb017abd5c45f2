// Telemetry's close: every queued span gets out, a slow collector gets the bound, a dead one is
// given up with what it carried said (docs/telemetry.md, "At exit").
import { randomUUID } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { spanIdOf } from '../envelope/index.js';
import { telemetryConfig } from './config.js';
import { createTelemetry } from './telemetry.js';
import { decision, envelope, receiver, startOtlpReceiver } from './test-kit.js';

describe('closing with a full queue', () => {
  it.each(['http/protobuf', 'http/json'])(
    "exports every queued span (%s), past the exporter's 30 exports in flight",
    async (protocol) => {
      // One batch goes out when ten spans wait; the other 99 wait for close, whose flush hands them
      // over at once. The OTLP exporter took 30 and refused the rest, whose spans were lost; now
      // they wait their turn (at most 64 exports in flight).
      const collector = await startOtlpReceiver();
      onTestFinished(() => collector.close());
      const config = telemetryConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_BSP_MAX_QUEUE_SIZE: '1000',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10',
      });
      if (config === undefined || config instanceof Error) throw new Error('no config');
      const told: Error[] = [];
      const telemetry = createTelemetry({ config, version: '0.1.0', onError: (err) => told.push(err) });
      const ids = Array.from({ length: 1000 }, () => randomUUID());
      for (const id of ids) telemetry.decision(decision(envelope(id)));
      await telemetry.close();
      expect(told).toEqual([]);
      expect(new Set(collector.spans.map((s) => s.spanId))).toEqual(new Set(ids.map(spanIdOf)));
    },
  );
});

describe('closing toward a slow collector', () => {
  it('sends a hundred queued batches within the bound, 64 at a time', async () => {
    // Each answer takes 300 ms and close may take 1.5 s: a few at a time (8 took 13 rounds) would be
    // cut short; 64 at a time take two rounds.
    const collector = await receiver({ delayMs: 300 });
    onTestFinished(() => collector.close());
    const config = telemetryConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_BSP_MAX_QUEUE_SIZE: '1000',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10',
    });
    if (config === undefined || config instanceof Error) throw new Error('no config');
    const told: Error[] = [];
    const telemetry = createTelemetry({
      config: { ...config, shutdownMillis: 1000 },
      version: '0.1.0',
      onError: (err) => told.push(err),
    });
    for (let i = 0; i < 1000; i++) telemetry.decision(decision(envelope(randomUUID())));
    await telemetry.close();
    expect(told).toEqual([]);
    expect(collector.state.requests).toBe(100);
  });
});

describe('closing toward a dead collector', () => {
  it('bounds the last export (3 s at most), not the OTLP timeout of 10 s with its retries', async () => {
    // 503 is retryable: unbounded, the exporter would retry for its whole 10 s timeout, and this
    // test would outlive vitest's 5 s limit.
    const collector = await receiver();
    collector.state.status = 503;
    const config = telemetryConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
    if (config === undefined || config instanceof Error) throw new Error('no config');
    expect(config.shutdownMillis).toBe(3000);
    const told: string[] = [];
    const telemetry = createTelemetry({
      config: { ...config, shutdownMillis: 1000 },
      version: '0.1.0',
      onError: (_err, signal) => told.push(`failed ${signal ?? 'close'}`),
    });
    telemetry.decision(decision(envelope(randomUUID())));
    await telemetry.close();
    await collector.close();
    expect(await telemetry.closed).toBeInstanceOf(Error);
    expect(told).toContain('failed traces');
  });

  it('says what the exports it gave up carried, even once a failure of theirs was told', async () => {
    const { createServer } = await import('node:http');
    // Reads every request and never answers: exports stay in flight until the exit bound ends them.
    const silent = createServer((req) => req.resume());
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    onTestFinished(() => {
      silent.closeAllConnections();
      silent.close();
    });
    const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const config = telemetryConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TIMEOUT: '60000',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2',
    });
    if (config === undefined || config instanceof Error) throw new Error('no config');
    const told: { signal: string | undefined; message: string }[] = [];
    const telemetry = createTelemetry({
      config: { ...config, shutdownMillis: 500 },
      version: '0.1.0',
      onError: (err, signal) => told.push({ signal, message: err.message }),
    });
    // The processor sends one batch at a time: the first two spans go at once and are never
    // answered; the other three wait for the close, which sends them bounded to 500 ms.
    for (let i = 0; i < 5; i++) telemetry.decision(decision(envelope(randomUUID())));
    await telemetry.close();
    const traces = told.filter((t) => t.signal === 'traces').map((t) => t.message);
    // Each bounded batch's failure says so, with its spans, though the first began a streak.
    expect(traces.filter((m) => m.includes('(the last export at exit, bounded to 500 ms;'))).toEqual([
      expect.stringMatching(/; 2 span\(s\) lost\)$/),
      expect.stringMatching(/; 1 span\(s\) lost\)$/),
    ]);
    // The first batch, still unanswered when the bound ran out, is said with what it carried.
    expect(traces.filter((m) => m.startsWith('given up at exit'))).toEqual([
      expect.stringMatching(
        /^given up at exit after \d+ ms: 1 export of 2 span\(s\) not answered; those spans are lost$/,
      ),
    ]);
    expect(told.find((t) => t.signal === 'metrics')?.message).toMatch(/bounded to 500 ms\)$/);
  });
});
