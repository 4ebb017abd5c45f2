import pg from 'pg';
import { causeText, ledgerError } from './errors.js';
import { GENESIS } from './hash.js';
import type { Durability } from './ports.js';
import type { PostgresLocation } from './postgres-location.js';

/** The PostgreSQL ledger's schema version (SQLite's has its own, schema.ts). */
const SCHEMA_VERSION = '1';

/**
 * A pool on the location. `full` durability runs every session with `synchronous_commit = on` (a
 * COMMIT returns once its WAL is flushed to disk); `normal` with `off` (PostgreSQL acknowledges
 * before the flush: a crash of the warden loses nothing committed, a crash of the database host may
 * lose the last commits). The URL's `options` come first (they cannot name synchronous_commit).
 */
export function createPool(at: PostgresLocation, durability: Durability, max: number): pg.Pool {
  const commit = `-c synchronous_commit=${durability === 'full' ? 'on' : 'off'}`;
  const pool = new pg.Pool({
    connectionString: at.connectionString,
    max,
    options: at.options === undefined ? commit : `${at.options} ${commit}`,
    ...(at.applicationName === undefined ? {} : { application_name: at.applicationName }),
    connectionTimeoutMillis: 10_000,
    // A statement that runs for a minute (a lock never released, a hung disk) fails, as the SQLite
    // commit worker counts as stuck after 60 s; the client gives up a little later if the server
    // never answers at all (a cut network), and keepalives find a dead peer meanwhile.
    statement_timeout: 60_000,
    query_timeout: 65_000,
    keepAlive: true,
  });
  // An idle connection the server drops is replaced on next use; unhandled, it would end the process.
  pool.on('error', () => {});
  return pool;
}

/** The tables, each in the ledger's own schema. `"…"` quoting: the name was checked (postgres-location.ts). */
export function tablesOf(schema: string) {
  const q = `"${schema}"`;
  return {
    schema: q,
    entries: `${q}.entries`,
    checkpoints: `${q}.checkpoints`,
    meta: `${q}.meta`,
    snapshots: `${q}.snapshots`,
  };
}
export type Tables = ReturnType<typeof tablesOf>;

// The same table as SQLite's (schema.ts), in PostgreSQL types: `at` as float8 so that any finite
// number the record holds round-trips exactly (integers up to 2^53 included), `seq` as bigint. Text
// columns sort bytewise (COLLATE "C"), as SQLite's do, so the agent prefix range means the same.
// Fencing needs no index of its own: the primary key (partition, seq) is one. `snapshots` is a cache
// beside the chains (ports.ts, PartitionSnapshots), as in SQLite.
function ddl(t: Tables): string {
  return `
CREATE SCHEMA IF NOT EXISTS ${t.schema};
CREATE TABLE IF NOT EXISTS ${t.meta} (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS ${t.entries} (
  partition integer NOT NULL,
  seq bigint NOT NULL,
  kind text COLLATE "C" NOT NULL,
  at double precision NOT NULL,
  msg_id text COLLATE "C",
  causation_id text COLLATE "C",
  correlation_id text COLLATE "C",
  subject text COLLATE "C",
  agent text COLLATE "C",
  body text NOT NULL,
  prev text NOT NULL,
  hash text NOT NULL,
  PRIMARY KEY (partition, seq)
);
CREATE INDEX IF NOT EXISTS entries_msg_id ON ${t.entries} (msg_id, partition, seq) WHERE msg_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_causation_id ON ${t.entries} (causation_id, partition, seq)
  WHERE causation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_subject ON ${t.entries} (subject, partition, seq) WHERE subject IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_agent ON ${t.entries} (agent, partition, seq) WHERE agent IS NOT NULL;
CREATE TABLE IF NOT EXISTS ${t.checkpoints} (id bigserial PRIMARY KEY, body text NOT NULL);
CREATE TABLE IF NOT EXISTS ${t.snapshots} (
  partition integer NOT NULL,
  seq bigint NOT NULL,
  hash text NOT NULL,
  format text NOT NULL,
  digest text NOT NULL,
  bytes bigint NOT NULL,
  body text NOT NULL,
  PRIMARY KEY (partition, seq)
);
INSERT INTO ${t.meta} (key, value) VALUES ('schema', '${SCHEMA_VERSION}') ON CONFLICT DO NOTHING;
`;
}

/** The mutable head of one partition's chain. */
export type Head = { seq: number; hash: string };

// Each partition's last row by index seeks, a loose index scan: the next partition above the last
// one found, then its highest seq. No scan of the table, however large.
const headsQuery = (t: Tables) => `
WITH RECURSIVE p (partition) AS (
  SELECT min(partition) FROM ${t.entries}
  UNION ALL
  SELECT (SELECT min(partition) FROM ${t.entries} WHERE partition > p.partition) FROM p
  WHERE p.partition IS NOT NULL
)
SELECT p.partition, h.seq::float8 AS seq, h.hash FROM p
CROSS JOIN LATERAL (
  SELECT seq, hash FROM ${t.entries} e WHERE e.partition = p.partition ORDER BY seq DESC LIMIT 1
) h
WHERE p.partition IS NOT NULL ORDER BY p.partition`;

// SQLSTATEs of tables that are not ours: a column or table missing, a column of another type.
const FOREIGN_TABLE_STATES = new Set(['42703', '42P01', '42804', '22P02']);

/**
 * The error for a schema whose tables (an `entries` or `meta` of another application) are not a
 * Meshwarden ledger: MW_LEDGER_LOCATION, not the driver's "column … does not exist".
 */
function foreignTables(at: PostgresLocation, err: unknown): unknown {
  const state = (err as { code?: unknown }).code;
  if (typeof state !== 'string' || !FOREIGN_TABLE_STATES.has(state)) return err;
  const reason = `the schema ${at.schema} holds tables that are not a Meshwarden ledger (${at.scrub(causeText(err))}); name another schema`;
  return ledgerError('MW_LEDGER_LOCATION', { location: at.label, reason }, { cause: err });
}

/** Each partition's head as stored now (every writer's commits included). */
export async function readHeads(pool: pg.Pool, t: Tables, at?: PostgresLocation): Promise<Map<number, Head>> {
  let rows: { partition: number; seq: number; hash: unknown }[];
  try {
    ({ rows } = await pool.query<{ partition: number; seq: number; hash: unknown }>(headsQuery(t)));
  } catch (err) {
    throw at === undefined ? err : foreignTables(at, err);
  }
  return new Map(
    rows.map((r) => [r.partition, { seq: r.seq, hash: typeof r.hash === 'string' ? r.hash : GENESIS }]),
  );
}

/** One partition's head as stored now (seq 0 and GENESIS when it holds nothing). */
export async function readHead(pool: pg.Pool, t: Tables, partition: number): Promise<Head> {
  const sql = `SELECT seq::float8 AS seq, hash FROM ${t.entries} WHERE partition = $1 ORDER BY seq DESC LIMIT 1`;
  const { rows } = await pool.query<{ seq: number; hash: string }>(sql, [partition]);
  return rows[0] === undefined ? { seq: 0, hash: GENESIS } : { seq: rows[0].seq, hash: rows[0].hash };
}

/**
 * Creates the schema and tables when missing (unless `create` is false: then a missing ledger is an
 * MW_LEDGER_LOCATION error, so a reader never leaves an empty schema behind; concurrent openers serialize on an advisory lock, as
 * `CREATE … IF NOT EXISTS` alone races), checks the schema version, records or reads the origin.
 * A `shared` ledger (a mesh's nodes write it) recorded under another origin, with entries or another
 * session on its writer lock, is refused: it is another mesh's, whose chains this node would write
 * into (MW_LEDGER_OTHER_MESH).
 */
export async function prepareSchema(
  pool: pg.Pool,
  t: Tables,
  at: PostgresLocation,
  origin: string | undefined,
  {
    create,
    shared,
    lockSession,
  }: { readonly create: boolean; readonly shared: boolean; readonly lockSession?: number | undefined },
): Promise<string> {
  const client = await pool.connect();
  try {
    if (!create) {
      const found = await client.query(`SELECT to_regclass('${t.meta}') IS NOT NULL AS found`);
      if (found.rows[0]?.found !== true) {
        const reason = `the schema ${at.schema} holds no ledger`;
        throw ledgerError('MW_LEDGER_LOCATION', { location: at.label, reason });
      }
    }
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`meshwarden.ledger.${at.schema}`]);
    await client.query(ddl(t));
    const found = await client.query<{ value: string }>(`SELECT value FROM ${t.meta} WHERE key = 'schema'`);
    const version = found.rows[0]?.value ?? '';
    if (version !== SCHEMA_VERSION) {
      throw ledgerError('MW_LEDGER_SCHEMA', { file: at.label, found: version, expected: SCHEMA_VERSION });
    }
    if (origin !== undefined && shared) await refuseOtherMesh(client, t, at, origin, lockSession);
    if (origin !== undefined) {
      await client.query(
        `INSERT INTO ${t.meta} (key, value) VALUES ('origin', $1) ON CONFLICT (key) DO UPDATE SET value = $1`,
        [origin],
      );
    }
    const stored = await client.query<{ value: string }>(`SELECT value FROM ${t.meta} WHERE key = 'origin'`);
    await client.query('COMMIT');
    return origin ?? stored.rows[0]?.value ?? 'meshwarden';
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw foreignTables(at, err);
  } finally {
    client.release();
  }
}

// The writer lock's key (postgres-writer-lock.ts), first half: ours never meets another
// application's locks; the second half is hashtext of the schema name.
export const LOCK_CLASS = 0x4d57_4c44; // "MWLD"

/**
 * The granted rows of `pg_locks` (alias `l`) on the writer lock of the schema bound at `$2`, with
 * LOCK_CLASS bound at `$1`: a two-key advisory lock's halves are its classid and objid (objsubid 2).
 */
export const WRITER_LOCK_HELD = `l.locktype = 'advisory' AND l.granted
  AND l.classid = $1::bigint::oid AND l.objsubid = 2
  AND l.objid = ((hashtext($2)::bigint + 4294967296) % 4294967296)::oid`;

/**
 * A shared ledger's stored origin, when it is not `origin`, is another mesh's if that mesh is here:
 * the ledger holds entries, or another session holds the writer lock (a node that has not written
 * yet: it joins NATS first). Only a schema no one uses and nothing was written to takes a new name.
 */
async function refuseOtherMesh(
  client: pg.PoolClient,
  t: Tables,
  at: PostgresLocation,
  origin: string,
  lockSession: number | undefined,
) {
  const { rows } = await client.query<{ value: string; used: boolean; held: boolean }>(
    `SELECT value, EXISTS (SELECT 1 FROM ${t.entries}) AS used,
       EXISTS (SELECT 1 FROM pg_locks l WHERE ${WRITER_LOCK_HELD} AND l.pid <> coalesce($3::int, 0)) AS held
     FROM ${t.meta} WHERE key = 'origin'`,
    [LOCK_CLASS, at.schema, lockSession ?? null],
  );
  const stored = rows[0];
  if (stored === undefined || stored.value === origin || (!stored.used && !stored.held)) return;
  throw ledgerError(
    'MW_LEDGER_OTHER_MESH',
    { location: at.label, stored: stored.value, origin },
    { details: { stored: stored.value, origin } },
  );
}
