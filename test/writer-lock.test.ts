import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLedger } from '../src/ledger/index.js';
import { REPO, runCli, tempDir } from './run-cli.js';
import { call, startUp, until } from './up-process.js';

const MESH = join(REPO, 'examples', 'retention', 'mesh.yaml');
const TICKETS = join(REPO, 'examples', 'retention', 'tickets.jsonl');

describe('one writer per SQLite ledger', () => {
  it('refuses a second writer while `up` runs, and readers still read', async () => {
    const data = join(tempDir('writer-lock'), 'data');
    expect((await runCli(['run', MESH, '--input', TICKETS, '--data', data])).code).toBe(0);
    const up = await startUp([MESH, '--data', data]);
    try {
      const second = await runCli(['run', MESH, '--input', TICKETS, '--data', data]);
      expect(second.code).toBe(1);
      expect(second.stdout).toBe('');
      expect(second.stderr).toContain('error MW_LEDGER_LOCKED:');
      expect(second.stderr).toContain(join(data, 'ledger.db'));
      expect(second.stderr).toContain(`process ${up.child.pid}`);
      const json = await runCli(['run', MESH, '--input', TICKETS, '--data', data, '--json']);
      expect(JSON.parse(json.stdout).errors.map((e: { code: string }) => e.code)).toContain(
        'MW_LEDGER_LOCKED',
      );
      expect((await runCli(['audit', 'verify', '--data', data])).code).toBe(0);
      expect((await call(up, up.token, 'GET', '/health')).status).toBe(200);
      expect((await call(up, up.token, 'GET', '/ledger')).status).toBe(200);
    } finally {
      expect(await up.stop()).toBe(0);
    }
    // The lock went with the process: the next writer opens the ledger.
    expect((await runCli(['run', MESH, '--input', TICKETS, '--data', data])).code).toBe(0);
  });

  it('stops `up` with exit 1 when its ledger closes on an error, without claiming a clean stop', async () => {
    const data = join(tempDir('writer-fenced'), 'data');
    const up = await startUp([MESH, '--data', data]);
    // A writer that bypasses the lock (the adapter opened directly) moves the chain under `up`.
    const intruder = openLedger({ file: join(data, 'ledger.db') });
    await intruder.append({ kind: 'test.intruder', at: 1, data: {} });
    await intruder.close();
    await call(up, up.token, 'POST', '/freeze', { subject: 'account:1', reason: 'fence me' });
    await until(async () => up.child.exitCode !== null, 'up to exit');
    expect(await up.stop()).toBe(1);
    expect(up.stderr()).toContain('error MW_LEDGER_FENCED:');
    expect(up.stderr()).not.toContain('stopped cleanly');
  });
});
