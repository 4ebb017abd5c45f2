import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempPostgresSchemas } from '../src/ledger/postgres-test-kit.js';
import { REPO, runCli, tempDir } from './run-cli.js';

const freshSchema = tempPostgresSchemas();

describe('ledger locations on the command line', () => {
  it('never prints a password given as a URL parameter, in text or --json', async () => {
    const at = freshSchema();
    const location = `${at.location}&password=S3cretQ&sslpassword=K3yPass`;
    const data = tempDir('location-secret');
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
});
