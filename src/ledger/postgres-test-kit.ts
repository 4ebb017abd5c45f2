// For tests only (excluded from the build): a fresh PostgreSQL schema per test, dropped after it,
// so that test files run in parallel against one database.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach } from 'vitest';

/** The test database: MW_TEST_POSTGRES, else the local server CI and this machine run. */
export const TEST_POSTGRES = process.env.MW_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

export type TestSchema = {
  /** The location of a ledger in this schema: `postgres://…/test?schema=<name>`. */
  readonly location: string;
  readonly schema: string;
  /** A key file in a temp directory removed after the test. */
  readonly keyFile: string;
  /** Runs plain SQL against the test database (the attacker's or the operator's side). */
  query(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
};

/** Registers cleanup and returns a maker of fresh schemas (`mw_t_<random>`), dropped after each test. */
export function tempPostgresSchemas(): () => TestSchema {
  const admin = new pg.Pool({ connectionString: TEST_POSTGRES, max: 2 });
  admin.on('error', () => {});
  const made: { schema: string; dir: string }[] = [];
  afterEach(async () => {
    for (const { schema, dir } of made.splice(0)) {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      rmSync(dir, { recursive: true, force: true });
    }
  });
  afterAll(() => admin.end());
  return () => {
    const schema = `mw_t_${randomBytes(6).toString('hex')}`;
    const dir = mkdtempSync(join(tmpdir(), 'mw-pg-'));
    made.push({ schema, dir });
    const url = new URL(TEST_POSTGRES);
    url.searchParams.set('schema', schema);
    return {
      location: url.href,
      schema,
      keyFile: join(dir, 'ledger.key'),
      query: (sql, params) => admin.query(sql, params),
    };
  };
}
