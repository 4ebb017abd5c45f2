// `meshwarden … | head -1`: a reader that stops reading must not make the CLI log an error or fail.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO, runCli, tempDir } from './run-cli.js';

type Closed = { code: number | null; signal: NodeJS.Signals | null; stderr: string; read: string };

/**
 * Runs the CLI with stdout piped into a reader that closes its end after the first line
 * (`| head -1`), or before anything is written (`| head -0`): later writes then fail with EPIPE.
 */
function runClosingStdout(args: readonly string[], when: 'first-line' | 'at-once'): Promise<Closed> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let read = '';
    let stderr = '';
    if (when === 'at-once') child.stdout.destroy();
    else {
      child.stdout.on('data', (d: Buffer) => {
        read += d.toString();
        const end = read.indexOf('\n');
        if (end >= 0) {
          read = read.slice(0, end);
          child.stdout.destroy();
        }
      });
    }
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr, read }));
  });
}

describe('a closed stdout', () => {
  const dir = tempDir('closed-stdout');
  const data = join(dir, 'data');
  let id = '';

  beforeAll(async () => {
    const run = await runCli(['demo', 'retention', '--data', data, '--json']);
    expect(run.code, run.stderr).toBe(0);
    id = (JSON.parse(run.stdout) as { cases: { id: string }[] }).cases[0]!.id;
  });

  it.each(['first-line', 'at-once'] as const)('ends audit export quietly with exit 0 (%s)', async (when) => {
    const r = await runClosingStdout(['audit', 'export', '--data', data], when);
    expect([r.code, r.signal, r.stderr]).toEqual([0, null, '']);
    if (when === 'first-line') expect(JSON.parse(r.read)).toMatchObject({ partition: 0, seq: 1 });
  });

  it.each<[string, string[], number]>([
    ['audit verify --json', ['audit', 'verify', '--json'], 0],
    ['audit verify', ['audit', 'verify'], 0],
    ['audit checkpoint', ['audit', 'checkpoint'], 0],
    ['why --json', ['why', '<id>', '--json'], 0],
    ['impact', ['impact', '<id>'], 0],
    ['replay', ['replay', '--policy', 'examples/retention/candidate.yaml'], 0],
    ['why of an unknown id (its own status)', ['why', 'no-such-id', '--json'], 1],
  ])('%s keeps its own exit status and logs nothing', async (_name, args, status) => {
    const withData = [...args.map((a) => (a === '<id>' ? id : a)), '--data', data];
    for (const when of ['first-line', 'at-once'] as const) {
      const r = await runClosingStdout(withData, when);
      expect([when, r.code, r.signal, r.stderr.includes('EPIPE'), r.stderr.includes('"level"')]).toEqual([
        when,
        status,
        null,
        false,
        false,
      ]);
    }
  });

  it.each([
    ['demo retention', ['demo', 'retention']],
    ['demo retention --json', ['demo', 'retention', '--json']],
  ])('%s runs to its end and exits 0', async (_name, args) => {
    const r = await runClosingStdout([...args, '--data', join(tempDir('closed-demo'), 'data')], 'at-once');
    expect([r.code, r.signal, r.stderr]).toEqual([0, null, '']);
  });

  it.each([
    ['audit export', ['audit', 'export']],
    ['audit verify --json', ['audit', 'verify', '--json']],
  ])('%s into a full disk (/dev/full) fails with exit 1, said once', async (_name, args) => {
    const full = openSync('/dev/full', 'w');
    try {
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, ...args, '--data', data], {
          cwd: REPO,
          stdio: ['ignore', full, 'pipe'],
        });
        let stderr = '';
        child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stderr }));
      });
      expect(r.code).toBe(1);
      expect(r.stderr.split('ENOSPC').length - 1).toBe(1);
    } finally {
      closeSync(full);
    }
  });

  it('policy check of a broken file still exits 1', async () => {
    const r = await runClosingStdout(['policy', 'check', join(dir, 'missing.yaml')], 'at-once');
    expect([r.code, r.signal, r.stderr.includes('EPIPE')]).toEqual([1, null, false]);
  });
});
