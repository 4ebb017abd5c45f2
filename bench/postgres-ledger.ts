// node bench/postgres-ledger.ts [entries=100000] [--partitions N] [--location postgres://…]: the
// PostgreSQL ledger adapter's append rate (group-committed, through `append` and through
// `appendAll` groups) and `verify()` time, with the SQLite adapter on the same records beside it.
// Needs a PostgreSQL server (default MW_BENCH_POSTGRES, else postgres://postgres@127.0.0.1:5432/test)
// and a build (`npm run build`); each run uses a schema of its own and drops it. Not part of
// `npm run bench`, which needs no server. Writes bench/results/postgres-ledger.json.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type Ledger, type LedgerRecord, openLedger, openPostgresLedger } from '../dist/ledger/index.js';
import { decisionRecord, msgId } from './scale.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { partitions: { type: 'string', default: '1' }, location: { type: 'string' } },
});
const entries = Number(positionals[0] ?? 100_000);
const partitions = Number(values.partitions);
const location =
  values.location ?? process.env.MW_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const CASE = 10; // nine chained decisions and the leaf's delivery, as bench/scale.ts writes them
const IN_FLIGHT = 4_096; // entries appended before the bench awaits the last one
const BASE = Date.parse('2026-01-01T00:00:00Z');

/** Case `c`: its ten records, in order, all about one subject. */
function caseRecords(c: number): LedgerRecord[] {
  const at = BASE + c;
  const ids = Array.from({ length: 9 }, (_, h) => msgId(at + h, c * 9 + h));
  const records = ids.map((_, h) => decisionRecord(c, h, at + h, ids));
  records.push({
    kind: 'delivered',
    at: at + 9,
    msgId: ids[8]!,
    subject: `account:${c % 100_003}`,
    agent: 'sink@1.0.0',
    data: { attempt: 1 },
  });
  return records;
}

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Appends `entries` records (case by case, partition = case mod P) one way, then verifies them. */
async function measure(ledger: Ledger, grouped: boolean) {
  const cases = Math.ceil(entries / CASE);
  let last: Promise<unknown> = Promise.resolve();
  let since = 0;
  const t0 = process.hrtime.bigint();
  for (let c = 0; c < cases; c++) {
    const records = caseRecords(c);
    const partition = c % partitions;
    if (grouped) last = ledger.appendAll(records, partition);
    else for (const r of records) last = ledger.append(r, partition);
    since += records.length;
    if (since >= IN_FLIGHT) {
      await last;
      since = 0;
    }
  }
  await last;
  await ledger.flush();
  const appendSeconds = seconds(t0);
  const t1 = process.hrtime.bigint();
  const verified = await ledger.verify();
  const verifySeconds = seconds(t1);
  if (!verified.ok || verified.entries !== cases * CASE)
    throw new Error(`verify: ${JSON.stringify(verified)}`);
  return {
    entries: verified.entries,
    appendsPerSecond: round(verified.entries / appendSeconds),
    appendSeconds: round(appendSeconds, 2),
    verifySeconds: round(verifySeconds, 2),
    verifiedPerSecond: round(verified.entries / verifySeconds),
  };
}

const admin = new pg.Pool({ connectionString: location, max: 1 });
const onPostgres = async (grouped: boolean) => {
  const schema = `mw_bench_${randomBytes(5).toString('hex')}`;
  const url = new URL(location);
  url.searchParams.set('schema', schema);
  try {
    const ledger = await openPostgresLedger({ location: url.href, origin: 'bench' });
    try {
      const result = await measure(ledger, grouped);
      const size = await admin.query(`SELECT pg_total_relation_size('"${schema}".entries')::float8 AS bytes`);
      return { ...result, tableMB: round(size.rows[0].bytes / 2 ** 20, 1) };
    } finally {
      await ledger.close();
    }
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
};
const onSqlite = async (grouped: boolean) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-pg-bench-'));
  try {
    const ledger = openLedger({ file: join(dir, 'ledger.db'), origin: 'bench' });
    try {
      return await measure(ledger, grouped);
    } finally {
      await ledger.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const settings = await admin.query(
  "SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS synchronous_commit",
);
process.stderr.write(
  `PostgreSQL ${settings.rows[0].version}, ${entries} entries, ${partitions} partition(s)\n`,
);
const results = {
  at: new Date().toISOString(),
  node: process.version,
  postgres: settings.rows[0],
  entries,
  partitions,
  durability: 'full',
  postgresAppend: await onPostgres(false),
  postgresAppendAll: await onPostgres(true),
  sqliteAppend: await onSqlite(false),
  sqliteAppendAll: await onSqlite(true),
};
await admin.end();
const out = new URL('./results/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'postgres-ledger.json'), `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(results, null, 2)}\nwrote bench/results/postgres-ledger.json\n`);
