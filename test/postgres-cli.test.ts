import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../src/ledger/index.js';
import { openLedger, openPostgresLedger } from '../src/ledger/index.js';
import { tempPostgresSchemas } from '../src/ledger/postgres-test-kit.js';
import { parseEntries, REPO, runCli, tempDir } from './run-cli.js';

const freshSchema = tempPostgresSchemas();

/**
 * The retention demo's ledger, written again through the PostgreSQL adapter record by record: the
 * same bodies at the same places must hash the same, so both engines hold one and the same chain.
 */
async function demoOnPostgres() {
  const data = join(tempDir('pg-cli'), 'data');
  const demo = await runCli(['demo', 'retention', '--data', data, '--json']);
  expect(demo.code, demo.stderr).toBe(0);
  const at = freshSchema();
  const sqlite = openLedger({ file: join(data, 'ledger.db') });
  const pg = await openPostgresLedger({ location: at.location, origin: 'retention' });
  try {
    for await (const entry of sqlite.scan()) {
      const { partition, seq: _seq, prev: _prev, hash: _hash, ...record } = entry as LedgerEntry;
      pg.append(record, partition);
    }
    await pg.flush();
    expect(pg.heads()).toEqual(sqlite.heads());
  } finally {
    await pg.close();
    await sqlite.close();
  }
  return { data, at };
}

describe('the CLI on a PostgreSQL ledger (--ledger postgres://…)', () => {
  it('verifies, explains, exports and checkpoints it as it does the SQLite file', async () => {
    const { data, at } = await demoOnPostgres();
    const onPg = ['--ledger', at.location, '--data', data];
    const verify = await runCli(['audit', 'verify', ...onPg, '--json']);
    expect(verify.code, verify.stderr).toBe(0);
    const sqliteVerify = await runCli(['audit', 'verify', '--data', data, '--json']);
    expect(JSON.parse(verify.stdout)).toEqual(JSON.parse(sqliteVerify.stdout));
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });

    const exported = await runCli(['audit', 'export', ...onPg]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toBe((await runCli(['audit', 'export', '--data', data])).stdout);

    const caused = parseEntries(exported.stdout).filter((e) => e.kind === 'decision' && e.causationId);
    const last = caused.at(-1)!.msgId!;
    for (const command of [
      ['why', last],
      ['impact', caused[0]!.causationId!],
    ]) {
      const pgRun = await runCli([...command, ...onPg, '--json']);
      expect(pgRun.code, pgRun.stderr).toBe(0);
      expect(pgRun.stdout).toBe((await runCli([...command, '--data', data, '--json'])).stdout);
    }

    const checkpoint = await runCli(['audit', 'checkpoint', ...onPg]);
    expect(checkpoint.code, checkpoint.stderr).toBe(0);
    expect(JSON.parse(checkpoint.stdout)).toMatchObject({ origin: 'retention' });
    const again = await runCli(['audit', 'verify', ...onPg, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, checkpoints: 1 });
  });

  it('runs the retention scenario on it (run --ledger), with the outcome the SQLite file gives', async () => {
    const at = freshSchema();
    const mesh = join(REPO, 'examples', 'retention', 'mesh.yaml');
    const input = join(REPO, 'examples', 'retention', 'tickets.jsonl');
    const onPg = join(tempDir('pg-run'), 'data');
    const pg = await runCli([
      'run',
      mesh,
      '--input',
      input,
      '--data',
      onPg,
      '--ledger',
      at.location,
      '--json',
    ]);
    expect(pg.code, pg.stderr).toBe(0);
    expect(existsSync(join(onPg, 'ledger.db'))).toBe(false);
    const onSqlite = join(tempDir('sqlite-run'), 'data');
    const sqlite = await runCli(['run', mesh, '--input', input, '--data', onSqlite, '--json']);
    const [a, b] = [JSON.parse(pg.stdout), JSON.parse(sqlite.stdout)];
    for (const field of ['messages', 'effects', 'frozen']) expect(a[field]).toEqual(b[field]);
    const breakers = (s: { breakers: { id: string; key: string; state: string }[] }) =>
      s.breakers.map(({ id, key, state }) => ({ id, key, state }));
    expect(breakers(a)).toEqual(breakers(b));
    expect(a.ledger.entries).toBe(b.ledger.entries);
    const verify = await runCli(['audit', 'verify', '--ledger', at.location, '--data', onPg, '--json']);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, entries: a.ledger.entries });
  });

  it('exits 1 naming the first bad entry when a row was deleted behind its back', async () => {
    const { data, at } = await demoOnPostgres();
    await at.query(`DELETE FROM "${at.schema}".entries WHERE partition = 0 AND seq = 10`);
    const r = await runCli(['audit', 'verify', '--ledger', at.location, '--data', data, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, problem: 'sequence-gap', seq: 10 });
  });

  it('is a usage error for a schema with no ledger, and for a server it cannot reach, never printing the password', async () => {
    const at = freshSchema();
    const none = await runCli(['audit', 'verify', '--ledger', at.location]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('MW_LEDGER_LOCATION');
    const down = await runCli(['why', 'x', '--ledger', 'postgres://mw:s3cret@127.0.0.1:1/test']);
    expect(down.code).not.toBe(0);
    expect(down.stderr).toContain('MW_LEDGER_IO');
    expect(down.stderr).not.toContain('s3cret');
  });
});
