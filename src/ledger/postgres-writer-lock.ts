import pg from 'pg';
import type { MeshwardenError } from '../envelope/index.js';
import { ledgerError } from './errors.js';
import { connectionCause, type PostgresLocation } from './postgres-location.js';
import { LOCK_CLASS, WRITER_LOCK_HELD } from './postgres-schema.js';
import { type WriterLock, writerBusy } from './writer-lock.js';

/**
 * Takes the embedded writer's lock of a PostgreSQL ledger: a session advisory lock on a key derived
 * from the schema name, held by a connection of its own until `release` (or until that session
 * ends: the server drops the lock with it, so a killed process never leaves one behind). The
 * session's application_name carries this process's pid, so that a refused writer can name it.
 * Distributed mode's nodes write their partitions under leases (docs/ledger.md), and each holds the
 * same key `shared`: any number of nodes at once, and never together with an embedded writer, which
 * would write every partition's chain under them (and they under it).
 */
export async function lockPostgresWriter(
  at: PostgresLocation,
  mode: 'only' | 'shared' = 'only',
): Promise<WriterLock | MeshwardenError> {
  const client = new pg.Client({
    connectionString: at.connectionString,
    ...(at.options === undefined ? {} : { options: at.options }),
    application_name: `meshwarden ${mode === 'shared' ? 'node' : 'writer'} pid ${process.pid}`,
    connectionTimeoutMillis: 10_000,
    // An idle session on a host that vanished is dropped by the server within minutes, not hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // A session the server drops ends the lock; the partition fencing still refuses a second writer.
  client.on('error', () => {});
  try {
    await client.connect();
    const take = mode === 'shared' ? 'pg_try_advisory_lock_shared' : 'pg_try_advisory_lock';
    const got = await client.query<{ ok: boolean }>(`SELECT ${take}($1, hashtext($2)) AS ok`, [
      LOCK_CLASS,
      at.schema,
    ]);
    if (got.rows[0]?.ok !== true) {
      const { holder, shared } = await holderOf(client, at.schema);
      await client.end().catch(() => {});
      // Held shared: a distributed mesh's nodes write it, and stopping one frees nothing.
      if (shared) {
        const named = holder ?? 'a node';
        return ledgerError(
          'MW_LEDGER_CLUSTERED',
          { location: at.label, holder: named },
          { details: { holder: named } },
        );
      }
      return writerBusy(at.label, holder);
    }
  } catch (err) {
    await client.end().catch(() => {});
    const cause = connectionCause(at, err);
    return ledgerError('MW_LEDGER_IO', { file: at.label, action: 'be opened', cause }, { cause: err });
  }
  let ended: Promise<void> | undefined;
  const session = (client as unknown as { processID: number | null }).processID ?? undefined;
  return {
    ...(session === undefined ? {} : { session }),
    // Ending the session releases its advisory locks; resolved once the server has seen it end.
    release: () => {
      ended ??= client.end().catch(() => {});
      return ended;
    },
  };
}

/**
 * Who holds the lock: a holding session's application_name (`meshwarden writer pid N`, `meshwarden
 * node pid N`) when the server shows it, and whether it is held shared (by a mesh's nodes).
 */
async function holderOf(
  client: pg.Client,
  schema: string,
): Promise<{ holder: string | undefined; shared: boolean }> {
  try {
    const { rows } = await client.query<{ name: string | null; addr: string | null; mode: string }>(
      `SELECT a.application_name AS name, a.client_addr::text AS addr, l.mode
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE ${WRITER_LOCK_HELD}`,
      [LOCK_CLASS, schema],
    );
    const row = rows[0];
    const shared = row?.mode === 'ShareLock';
    if (row === undefined || row.name === null || row.name === '') return { holder: undefined, shared };
    return { holder: row.addr === null ? row.name : `${row.name} at ${row.addr}`, shared };
  } catch {
    return { holder: undefined, shared: false };
  }
}
