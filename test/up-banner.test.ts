// What `up` prints in words when it is up: the admin token on the first start only, and on a later
// start a console line that says how to sign in without one.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, REPO, tempDir } from './run-cli.js';

const MESH = join(REPO, 'examples', 'retention', 'mesh.yaml');

/** Starts `up` in words on a free port, reads its banner to the Ctrl-C line, then stops it. */
async function banner(data: string): Promise<string> {
  const child = spawn(process.execPath, [BIN, 'up', MESH, '--data', data, '--port', '0']);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('Ctrl-C stops it')) resolve();
    });
    exited.then((code) => reject(new Error(`up exited (${code}) before its banner:\n${stderr}`)));
  });
  child.kill('SIGINT');
  expect(await exited).toBe(0);
  return stdout;
}

describe('`up` banner', () => {
  it('prints the admin token once, then says how to sign in without it', async () => {
    const data = join(tempDir('up-banner'), 'data');
    const first = await banner(data);
    expect(first).toMatch(/console {2}http:\/\/127\.0\.0\.1:\d+\/#token=mw_/);
    expect(first).toContain('admin token (shown only now');

    const later = await banner(data);
    expect(later).not.toContain('#token=');
    expect(later).not.toContain('admin token (shown only now');
    expect(later).toMatch(/console {2}http:\/\/127\.0\.0\.1:\d+\/ {2}\(sign in with a token.*docs\/api\.md/);
  });
});
