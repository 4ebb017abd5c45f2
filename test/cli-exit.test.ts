// How a command ends (docs/cli.md): all of its output reaches a reader that pauses, however long,
// and then the process does not stay for what it left running: an OTLP export under way toward a
// collector that never answers is given up with a warning (docs/telemetry.md, "At exit"), where the
// process used to stay until that export's own timeout, 10 s by default.
import { spawn } from 'node:child_process';
import { cpSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, REPO, runCli, tempDir } from './run-cli.js';

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

/** The retention example copied to a temp dir; `runs` times run into one data dir (ids repeat: more entries). */
async function retention(runs: number): Promise<{ dir: string; data: string }> {
  const dir = tempDir('cli-exit');
  cpSync(join(REPO, 'examples', 'retention'), dir, { recursive: true });
  const data = join(dir, 'data');
  for (let i = 0; i < runs; i++) {
    const r = await runCli([
      'run',
      join(dir, 'mesh.yaml'),
      '--input',
      join(dir, 'tickets.jsonl'),
      '--data',
      data,
    ]);
    expect(r.code, r.stderr).toBe(0);
  }
  return { dir, data };
}

describe('a reader that pauses', () => {
  it('gets all of the output, past the second a finished command may stay', async () => {
    const { data } = await retention(3);
    const whole = await runCli(['audit', 'export', '--data', data]);
    expect(whole.code, whole.stderr).toBe(0);
    // More than a pipe holds: the rest waits in the process for the reader.
    expect(whole.stdout.length).toBeGreaterThan(1 << 17);
    const child = spawn(process.execPath, [BIN, 'audit', 'export', '--data', data], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pause();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(out).toBe(whole.stdout);
  });
});

describe('run toward a collector that never answers', () => {
  it('exits with its result and a warning, leaving the unanswered exports behind', async () => {
    const collector = await silentCollector();
    try {
      const { dir } = await retention(0);
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
      expect(result.stderr).toContain('telemetry export failed');
    } finally {
      await collector.close();
    }
  });
});
