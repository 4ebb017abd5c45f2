import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../src/envelope/index.js';
import { openLedgerAt } from '../src/ledger/index.js';
import { tempPostgresSchemas } from '../src/ledger/postgres-test-kit.js';
import { REPO, runCli, tempDir } from './run-cli.js';

const freshSchema = tempPostgresSchemas();

describe('ledger locations on the command line', () => {
  it('never prints a password given as a URL parameter, in text or --json', async () => {
    const at = freshSchema();
    const data = tempDir('location-secret');
    // One reaches the server (its schema holds no ledger); one is refused as it is read (sslpassword
    // is no parameter node-postgres reads).
    for (const location of [
      `${at.location}&password=S3cretQ`,
      `${at.location}&password=S3cretQ&sslpassword=K3yPass`,
    ])
      for (const json of [[], ['--json']]) {
        const verify = await runCli(['audit', 'verify', '--ledger', location, '--data', data, ...json]);
        expect(verify.code).not.toBe(0);
        expect(verify.stderr).toContain('MW_LEDGER_LOCATION');
        for (const secret of ['S3cretQ', 'K3yPass']) {
          expect(verify.stdout + verify.stderr).not.toContain(secret);
        }
      }
  });

  it.each([['postgres:garbage'], ['postgres:/127.0.0.1:5432/test'], ['nosuch:ledger']])(
    'refuses %s as a location (MW_LEDGER_LOCATION) and creates no file for it',
    async (location) => {
      const cwd = tempDir('location-bad');
      const mesh = join(REPO, 'examples', 'retention', 'mesh.yaml');
      const run = await runCli(['run', mesh, '--data', 'data', '--ledger', location], { cwd });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('error MW_LEDGER_LOCATION:');
      expect(readdirSync(cwd).filter((f) => f !== 'data')).toEqual([]);
      const why = await runCli(['why', 'x', '--ledger', location], { cwd });
      expect(why.stderr).toContain('error MW_LEDGER_LOCATION:');
    },
  );

  it.each([['file:ledger.db'], ['file:./ledger.db']])(
    'reads %s as a path relative to the working directory, not the root of the disk',
    async (location) => {
      const cwd = tempDir('location-file');
      const mesh = join(REPO, 'examples', 'retention', 'mesh.yaml');
      const tickets = join(REPO, 'examples', 'retention', 'tickets.jsonl');
      const run = await runCli(['run', mesh, '--input', tickets, '--data', 'data', '--ledger', location], {
        cwd,
      });
      expect(run.code).toBe(0);
      expect(statSync(join(cwd, 'ledger.db')).isFile()).toBe(true);
      expect((await runCli(['audit', 'verify', '--ledger', location], { cwd })).code).toBe(0);
    },
  );

  it('checkpoints a PostgreSQL ledger with no data directory yet: makes it 0700 with the key in it', async () => {
    const at = freshSchema();
    const writer = await openLedgerAt(at.location, { origin: 'retention', keyFile: at.keyFile });
    if (isMeshwardenError(writer)) throw writer;
    await writer.append({ kind: 'decision', at: 1, msgId: 'a', data: {} });
    await writer.close();
    const data = join(tempDir('checkpoint-nodata'), 'not', 'yet');
    const made = await runCli(['audit', 'checkpoint', '--ledger', at.location, '--data', data]);
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({ origin: 'retention' });
    expect(statSync(data).mode & 0o777).toBe(0o700);
    expect(statSync(join(data, 'ledger.key')).mode & 0o777).toBe(0o600);

    // A key that cannot be made: one plain line naming the cause once, nothing on stdout.
    const file = join(tempDir('checkpoint-blocked'), 'a-file');
    writeFileSync(file, '');
    const blocked = await runCli([
      'audit',
      'checkpoint',
      '--ledger',
      at.location,
      '--data',
      join(file, 'data'),
    ]);
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).toBe('');
    const lines = blocked.stderr.trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^error MW_LEDGER_KEY: /)]);
    expect(lines[0]?.match(/ENOTDIR/g)?.length).toBe(1);
  });

  it('suggests a user in the URL or PGUSER when neither the URL nor the environment names one', async () => {
    const location = 'postgres://127.0.0.1:5432/test?schema=mw_no_user';
    const env = { USER: '', PGUSER: '', LOGNAME: '' };
    const data = join(tempDir('no-user'), 'data');
    for (const args of [
      ['audit', 'verify', '--ledger', location, '--data', data],
      ['run', join(REPO, 'examples', 'retention', 'mesh.yaml'), '--data', data, '--ledger', location],
    ]) {
      const r = await runCli(args, { env });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('error MW_LEDGER_IO:');
      expect(r.stderr).toContain('postgres://postgres@127.0.0.1:5432/test');
      expect(r.stderr).toContain('PGUSER');
    }
  });
});
