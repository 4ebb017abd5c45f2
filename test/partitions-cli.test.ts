import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempPostgresSchemas } from '../src/ledger/postgres-test-kit.js';
import { REPO, runCli, tempDir } from './run-cli.js';

const freshSchema = tempPostgresSchemas();

/** The retention example in a temp dir, with `partitions: n` appended (none when undefined). */
function meshWith(dir: string, partitions: number | undefined): string {
  const file = join(dir, 'mesh.yaml');
  const base = readFileSync(join(REPO, 'examples', 'retention', 'mesh.yaml'), 'utf8');
  writeFileSync(file, partitions === undefined ? base : `${base}\npartitions: ${partitions}\n`);
  return file;
}

describe('a changed partition count on the command line', () => {
  it('--json carries where, as policy issues do: the key, or the top of the file when it is gone', async () => {
    const dir = tempDir('partitions-json');
    cpSync(join(REPO, 'examples', 'retention'), dir, { recursive: true });
    const data = join(dir, 'data');
    const input = join(dir, 'tickets.jsonl');
    const lines = readFileSync(join(REPO, 'examples', 'retention', 'mesh.yaml'), 'utf8').split('\n').length;
    expect((await runCli(['run', meshWith(dir, 2), '--input', input, '--data', data])).code).toBe(0);

    const changed = await runCli(['run', meshWith(dir, 3), '--data', data, '--json']);
    expect(changed.code).toBe(1);
    const [error] = JSON.parse(changed.stdout).errors;
    expect(error).toMatchObject({
      code: 'MW_RUNTIME_PARTITIONS_CHANGED',
      file: join(dir, 'mesh.yaml'),
      line: lines + 1,
      col: 13,
      pointer: '/partitions',
    });
    expect(error.message).toContain('a new data directory');

    const removed = await runCli(['run', meshWith(dir, undefined), '--data', data, '--json']);
    expect(JSON.parse(removed.stdout).errors[0]).toMatchObject({
      code: 'MW_RUNTIME_PARTITIONS_CHANGED',
      line: 1,
      col: 1,
    });
    const text = await runCli(['run', meshWith(dir, undefined), '--data', data]);
    expect(text.stderr).toContain(`error MW_RUNTIME_PARTITIONS_CHANGED at ${join(dir, 'mesh.yaml')}:1:1:`);
  });

  it('advises a new schema, not a new data directory, for a PostgreSQL ledger', async () => {
    const dir = tempDir('partitions-pg');
    cpSync(join(REPO, 'examples', 'retention'), dir, { recursive: true });
    const at = freshSchema();
    const onPg = ['--data', join(dir, 'data'), '--ledger', at.location];
    expect((await runCli(['run', meshWith(dir, 2), ...onPg])).code).toBe(0);
    const changed = await runCli(['run', meshWith(dir, 3), ...onPg]);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain('MW_RUNTIME_PARTITIONS_CHANGED');
    expect(changed.stderr).toContain('(a new count needs a new schema,');
    expect(changed.stderr).not.toContain('new data directory');
  });
});
