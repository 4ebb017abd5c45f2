// A command's exit is bounded even toward a collector that never answers (docs/telemetry.md, "At
// exit"): the exports already under way when `run` ends are given up with a warning, and the process
// does not stay for them (it used to stay until their OTLP timeout, 10 s by default).
import { cpSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCli, tempDir } from './run-cli.js';

/** An OTLP/HTTP endpoint that reads each request and never answers it. */
async function silentCollector() {
  const held: ServerResponse<IncomingMessage>[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => held.push(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Requests read, none of them answered. */
    unanswered: () => held.length,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('run toward a collector that never answers', () => {
  it('exits with its result and a warning, leaving the unanswered exports behind', async () => {
    const collector = await silentCollector();
    try {
      const dir = tempDir('telemetry-exit');
      cpSync(join(REPO, 'examples', 'retention'), dir, { recursive: true });
      const result = await runCli(
        ['run', join(dir, 'mesh.yaml'), '--input', join(dir, 'tickets.jsonl'), '--data', join(dir, 'data')],
        {
          env: {
            OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
            // Far past the test's own timeout: only the exit bound can end the run in time.
            OTEL_EXPORTER_OTLP_TIMEOUT: '120000',
            // Batches leave while the run is under way, so exports are in flight when it ends.
            OTEL_BSP_SCHEDULE_DELAY: '20',
            OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4',
            OTEL_METRIC_EXPORT_INTERVAL: '100',
          },
        },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('8841');
      // Exports were sent and none was answered: the run ended without them, and said so.
      expect(collector.unanswered()).toBeGreaterThan(0);
      expect(result.stderr).toMatch(/telemetry/i);
    } finally {
      await collector.close();
    }
  });
});
