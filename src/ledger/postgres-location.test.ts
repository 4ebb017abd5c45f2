import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../envelope/index.js';
import { openLedgerAt } from './location.js';
import { parsePostgresLocation } from './postgres-location.js';
import { createPool } from './postgres-schema.js';
import { TEST_POSTGRES, tempPostgresSchemas } from './postgres-test-kit.js';
import { lockPostgresWriter } from './postgres-writer-lock.js';

const freshSchema = tempPostgresSchemas();
const record = { kind: 'decision', at: 1, msgId: 'a', data: {} };

describe('a PostgreSQL ledger URL', () => {
  it('refuses a parameter neither Meshwarden nor node-postgres reads, naming the one it likely meant', () => {
    // Ignored by the driver, `?schem=` would have put the ledger in the default schema.
    expect(parsePostgresLocation(`${TEST_POSTGRES}?schem=mw_typo`)).toMatchObject({
      code: 'MW_LEDGER_LOCATION',
      details: { parameter: 'schem', near: 'schema' },
    });
    expect(
      parsePostgresLocation(`${TEST_POSTGRES}?schema=mw&sslmode=disable&lock_timeout=5000`),
    ).toMatchObject({
      schema: 'mw',
    });
  });

  it('masks the value of a parameter it refuses: it may be a credential under a name it does not know', () => {
    const refused = parsePostgresLocation(`${TEST_POSTGRES}?schema=mw&apikey=S3cretK3y`);
    expect(refused).toMatchObject({ code: 'MW_LEDGER_LOCATION', details: { parameter: 'apikey' } });
    expect((refused as Error).message).not.toContain('S3cretK3y');
  });

  it.each([
    ['statement_timeout=0', 'statement_timeout'],
    ['query_timeout=0', 'query_timeout'],
    ['replication=database', 'replication'],
    ['binary=true', 'binary'],
    ['schema=a&schema=b', 'schema'],
    ['ssl=false', 'ssl'],
    [`options=${encodeURIComponent('-c synchronous_commit=off')}`, 'options'],
  ])(
    'refuses %s, which would replace what the ledger sets, or be read another way than meant',
    (query, parameter) => {
      expect(parsePostgresLocation(`${TEST_POSTGRES}?${query}`)).toMatchObject({
        code: 'MW_LEDGER_LOCATION',
        details: { parameter },
      });
    },
  );

  it.each([
    ['full', 'on'],
    ['normal', 'off'],
  ] as const)(
    'keeps %s durability beside the URL options, and applies theirs',
    async (durability, commit) => {
      const options = encodeURIComponent('-c search_path=public');
      const at = parsePostgresLocation(`${TEST_POSTGRES}?options=${options}&application_name=ops-ledger`);
      if (isMeshwardenError(at)) throw at;
      const pool = createPool(at, durability, 1);
      try {
        const shown = await pool.query(
          "SELECT current_setting('synchronous_commit') AS commit, current_setting('search_path') AS path, current_setting('application_name') AS name",
        );
        expect(shown.rows[0]).toEqual({ commit, path: 'public', name: 'ops-ledger' });
      } finally {
        await pool.end();
      }
    },
  );

  it("keeps the writer lock's session name, which a refused writer reads to name its holder", async () => {
    const at = freshSchema();
    const located = parsePostgresLocation(`${at.location}&application_name=ops-ledger`);
    if (isMeshwardenError(located)) throw located;
    const lock = await lockPostgresWriter(located);
    if (isMeshwardenError(lock)) throw lock;
    try {
      const { rows } = await at.query(
        "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'meshwarden writer pid%'",
      );
      expect(rows).toContainEqual({ application_name: `meshwarden writer pid ${process.pid}` });
    } finally {
      await lock.release();
    }
  });

  it('opens, writes and reads a ledger whose URL has options', async () => {
    const at = freshSchema();
    const location = `${at.location}&options=${encodeURIComponent('-c statement_timeout=30000')}`;
    const opened = await openLedgerAt(location, { origin: 'here', keyFile: at.keyFile });
    if (isMeshwardenError(opened)) throw opened;
    await using ledger = opened;
    await ledger.append(record);
    expect(await ledger.verify()).toMatchObject({ ok: true, entries: 1 });
  });
});
