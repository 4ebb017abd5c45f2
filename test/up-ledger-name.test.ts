import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempPostgresSchemas } from '../src/ledger/postgres-test-kit.js';
import { REPO, tempDir } from './run-cli.js';
import { startUp } from './up-process.js';

const freshSchema = tempPostgresSchemas();
const mesh = join(REPO, 'examples', 'retention', 'mesh.yaml');

describe('up names where its ledger is', () => {
  it('the data directory’s file by default, a --ledger elsewhere as given, never a password', async () => {
    const data = tempDir('up-ledger-name');
    const at = freshSchema();
    const withPassword = at.location.replace('postgres://postgres@', 'postgres://postgres:s3cret@');
    for (const [args, expected] of [
      [[], join(data, 'a', 'ledger.db')],
      [['--ledger', join(data, 'elsewhere.db')], join(data, 'elsewhere.db')],
      [['--ledger', withPassword], `postgres:test/${at.schema}`],
    ] as const) {
      const up = await startUp([mesh, '--data', join(data, 'a'), ...args]);
      try {
        expect((up as unknown as { ledger: string }).ledger).toBe(expected);
      } finally {
        expect(await up.stop()).toBe(0);
      }
    }
  }, 120_000);
});
