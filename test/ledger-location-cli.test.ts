import { describe, expect, it } from 'vitest';
import { tempPostgresSchemas } from '../src/ledger/postgres-test-kit.js';
import { runCli, tempDir } from './run-cli.js';

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
});
