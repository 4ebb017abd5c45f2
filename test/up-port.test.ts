import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, REPO, runCli, tempDir } from './run-cli.js';

const mesh = join(REPO, 'examples', 'retention', 'mesh.yaml');

describe('up on a port another process holds', () => {
  it('fails with MW_CLI_LISTEN before it opens the mesh: no ledger read, none made', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const port = (holder.address() as AddressInfo).port;
      const data = join(tempDir('up-port'), 'data');
      const result = await runCli(['up', mesh, '--data', data, '--port', String(port), '--json']);
      expect(result.code, result.stderr).toBe(1);
      expect(JSON.parse(result.stdout)).toMatchObject({
        ok: false,
        error: { code: 'MW_CLI_LISTEN' },
      });
      // Refused before the mesh opened: the data directory's ledger was never made.
      expect(existsSync(join(data, 'ledger.db'))).toBe(false);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

describe('up on a port of its own while the mesh opens', () => {
  it('answers 503 MW_API_STARTING with its progress until the API serves, then 200', async () => {
    const dir = tempDir('up-starting');
    const made = await runCli(['init', join(dir, 'm')]);
    expect(made.code, made.stderr).toBe(0);
    // A ledger of about 55,000 entries: its recovery read takes a moment even on a fast machine.
    const line = (i: number) =>
      JSON.stringify({
        source: 'web',
        type: 'order.placed.v1',
        subject: `customer:${i % 5000}`,
        data: { items: 1, total: 10 },
      });
    writeFileSync(
      join(dir, 'orders.jsonl'),
      `${Array.from({ length: 30_000 }, (_, i) => line(i)).join('\n')}\n`,
    );
    const data = join(dir, 'data');
    const fed = await runCli([
      'run',
      join(dir, 'm', 'mesh.yaml'),
      '--input',
      join(dir, 'orders.jsonl'),
      '--data',
      data,
    ]);
    expect(fed.code, fed.stderr).toBe(0);
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    await new Promise((resolve) => holder.close(resolve));
    const up = spawn(
      process.execPath,
      [BIN, 'up', join(dir, 'm', 'mesh.yaml'), '--data', data, '--port', String(port)],
      {
        cwd: REPO,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    up.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const seen: string[] = [];
      const deadline = performance.now() + 40_000;
      while (seen.at(-1) !== '200' && performance.now() < deadline) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/health`, {
            signal: AbortSignal.timeout(2000),
          });
          const body = (await res.json()) as { error?: { code: string } };
          const said = res.status === 503 ? `503 ${body.error?.code}` : String(res.status);
          if (seen.at(-1) !== said) seen.push(said);
        } catch {
          // Not listening yet (the process starting), or the moment the API takes the port.
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(seen, stderr).toEqual(['503 MW_API_STARTING', '200']);
    } finally {
      up.kill('SIGINT');
      await new Promise((resolve) => up.once('exit', resolve));
    }
  });
});
