// How a command ends (docs/cli.md): all of its output reaches a reader that pauses, however long,
// and then the process does not stay for what it left running: an OTLP export under way toward a
// collector that never answers is given up with a warning (docs/telemetry.md, "At exit"), where the
// process used to stay until that export's own timeout, 10 s by default.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
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

/** The retention example copied to a temp dir, with a data dir to use there. */
function retention(): { dir: string; data: string } {
  const dir = tempDir('cli-exit');
  cpSync(join(REPO, 'examples', 'retention'), dir, { recursive: true });
  return { dir, data: join(dir, 'data') };
}

describe('a reader that pauses', () => {
  it('gets all of a large document, past the second a finished command may stay', async () => {
    // One run of the sample twelve times over: `impact` of its sentiment agent is one JSON document
    // of about 110 KB, written at once, more than a pipe holds.
    const { dir, data } = retention();
    const tickets = readFileSync(join(dir, 'tickets.jsonl'), 'utf8');
    writeFileSync(join(dir, 'many.jsonl'), tickets.repeat(12));
    const fed = await runCli([
      'run',
      join(dir, 'mesh.yaml'),
      '--input',
      join(dir, 'many.jsonl'),
      '--data',
      data,
    ]);
    expect(fed.code, fed.stderr).toBe(0);
    const args = ['impact', 'sentiment@1.4.0', '--data', data, '--json'];
    const whole = await runCli(args);
    expect(whole.code, whole.stderr).toBe(0);
    expect(whole.stdout.length).toBeGreaterThan(100_000); // past a pipe's 64 KiB
    // A shell pipe, as a user's `| less` is: the reader takes nothing for 2.5 s, then all of it.
    const piped = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const quoted = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
      const shell = spawn('bash', ['-o', 'pipefail', '-c', `${quoted} | (sleep 2.5; cat)`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      shell.stdout.on('data', (d: Buffer) => (out += d.toString()));
      shell.on('error', reject);
      shell.on('close', (code) => resolve({ code, out }));
    });
    expect(piped.code).toBe(0);
    expect(piped.out).toBe(whole.stdout);
  });
});

describe('run stopped by a signal', () => {
  it('finishes what it admitted and says in its summary that the input was cut short', async () => {
    const { dir, data } = retention();
    const tickets = readFileSync(join(dir, 'tickets.jsonl'), 'utf8');
    // Far more than is fed before the first progress line (2 s in), on any machine.
    writeFileSync(join(dir, 'many.jsonl'), tickets.repeat(20_000));
    const child = spawn(
      process.execPath,
      [BIN, 'run', join(dir, 'mesh.yaml'), '--input', join(dir, 'many.jsonl'), '--data', data, '--json'],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    // Ctrl-C, once, when the first progress line shows the input is being fed.
    let interrupted = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (interrupted || !stderr.includes('lines read')) return;
      interrupted = true;
      child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('stopping: finishing admitted work');
    const summary = JSON.parse(stdout) as { interrupted?: { signal: string; linesRead: number } };
    expect(summary.interrupted?.signal).toBe('SIGINT');
    expect(summary.interrupted?.linesRead).toBeGreaterThan(0);
    expect(summary.interrupted?.linesRead).toBeLessThan(180_000);
  });
});

describe('run toward a collector that never answers', () => {
  it('exits with its result and a warning, leaving the unanswered exports behind', async () => {
    const collector = await silentCollector();
    try {
      const { dir } = retention();
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
      // Said as it happens: the wait, and the spans the unanswered export carried, by endpoint.
      expect(result.stderr).toContain(`sending the last telemetry to ${collector.url}/v1/traces`);
      const givenUp = result.stderr
        .split('\n')
        .filter((line) => line.includes('given up at exit'))
        .map((line) => JSON.parse(line) as { signal: string; endpoint: string; error: string });
      expect(givenUp.find((l) => l.signal === 'traces')).toMatchObject({
        endpoint: `${collector.url}/v1/traces`,
        error: expect.stringMatching(/span\(s\) not answered; those spans are lost/),
      });
    } finally {
      await collector.close();
    }
  });
});

describe('a misspelt option', () => {
  it('is a usage error, exit 2, whose line names its code as every error line does, and the option meant', async () => {
    const r = await runCli(['why', 'some-id', '--leger', 'x.db']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error MW_CLI_USAGE: unknown option '--leger'\n\(Did you mean --ledger\?\)\n/);
    expect(r.stderr).toContain('see meshwarden why --help');
  });
});

describe('an option given another option as its value', () => {
  it('is a usage error, exit 2, with one MW_CLI_USAGE document under --json, and writes nothing', async () => {
    const dir = tempDir('option-value');
    const mesh = join(REPO, 'examples', 'retention', 'mesh.yaml');
    const r = await runCli(['run', mesh, '--data', '--json'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe('MW_CLI_USAGE');
    expect(r.stderr).toContain('see meshwarden run --help');
    // Commander took `--json` as the data folder before: nothing of that name is made now.
    expect(existsSync(join(dir, '--json'))).toBe(false);
  });
});
