import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../', import.meta.url).pathname;

/** `meshwarden up` on a mesh file, started for a bench: no rate limit, errors only on stderr. */
export type BenchUp = {
  readonly child: ChildProcess;
  /** Resolves with the document `up --json` prints once it listens. */
  readonly started: Promise<{ api: string; console: string; token: string }>;
  readonly exited: Promise<number | null>;
  /** SIGINT (a clean shutdown), then its exit; its data is removed. */
  stop(): Promise<number | null>;
};

export function startBenchUp(mesh: string, name: string): BenchUp {
  const dir = mkdtempSync(join(tmpdir(), `meshwarden-${name}-bench-`));
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'dist/cli/main.js'),
      'up',
      mesh,
      '--port',
      '0',
      '--data',
      join(dir, 'data'),
      '--rate-limit',
      '10000000',
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MESHWARDEN_LOG: 'error' } },
  );
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const started = new Promise<{ api: string; console: string; token: string }>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      try {
        resolve(JSON.parse(out));
      } catch {
        // not the whole document yet
      }
    });
    exited.then((code) => reject(new Error(`up exited (${code}) before it was up`)));
  });
  return {
    child,
    started,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}
