import type pg from 'pg';
import { canonicalize, isMeshwardenError, type MeshwardenError } from '../envelope/index.js';
import { createChainer, partitionHeads } from './chain.js';
import { signCheckpoint } from './checkpoint.js';
import { causeText, ledgerError } from './errors.js';
import { loadSigningKey, type SigningKey } from './keyfile.js';
import type { Durability, Ledger } from './ports.js';
import { startPostgresCommitter } from './postgres-commit.js';
import { commitLanes } from './postgres-lanes.js';
import {
  connectionCause,
  isLaneCount,
  MAX_LANES,
  type PostgresLocation,
  parsePostgresLocation,
} from './postgres-location.js';
import { partitionOwnership } from './postgres-ownership.js';
import { gatedReader, type PostgresQueries, postgresQueries } from './postgres-queries.js';
import { createPool, type Head, prepareSchema, readHeads, type Tables, tablesOf } from './postgres-schema.js';
import { postgresSnapshots } from './postgres-snapshots.js';
import type { Checkpoint, LedgerEntry, LedgerRecord, PartitionHead, VerifyResult } from './types.js';
import { verifyLedger } from './verify.js';

export type PostgresLedgerOptions = {
  /** `postgres://[user[:password]@]host[:port]/db[?schema=name]` (or `postgresql://`). */
  readonly location: string;
  /** The schema that holds the tables; wins over the URL's `schema`; default `meshwarden`. Created when missing. */
  readonly schema?: string;
  /** Names this ledger in its checkpoints (the mesh name); readers leave it out and get the recorded one. */
  readonly origin?: string;
  /** Ed25519 checkpoint key (PEM PKCS8), created 0600 when missing; `checkpoint()` needs one. */
  readonly keyFile?: string;
  /** Entries per commit (one COPY) at most (an `appendAll` group is never split); default 512. */
  readonly batchSize?: number;
  /** 'full' (default): `synchronous_commit = on`; 'normal': `off` (see docs/ledger.md). */
  readonly durability?: Durability;
  /** False for a reader of an existing ledger: a schema without one is MW_LEDGER_LOCATION. Default true. */
  readonly create?: boolean;
  /**
   * Commit loops side by side, each on partitions of its own (`p mod lanes`), each one commit at a
   * time on a connection from the pool (postgres-lanes.ts); wins over the URL's `?lanes=`. 1 to 64,
   * default 2.
   */
  readonly lanes?: number;
  /** Connections at most: one per lane commits, the others read. Default (and at least) the lanes plus 2 (1). */
  readonly connections?: number;
  /**
   * Written by the nodes of one mesh (distributed mode): a ledger recorded under another origin,
   * with entries or another session on its writer lock, is another mesh's (MW_LEDGER_OTHER_MESH),
   * where a single writer renames it.
   */
  readonly shared?: boolean;
  /** The backend pid of this opener's writer-lock session (location.ts), left out of the holders a shared opener counts. */
  readonly lockSession?: number;
};

/** The option's lanes, else the URL's (`?lanes=`), else 2; a count out of range is MW_LEDGER_LOCATION. */
function lanesOf(opts: PostgresLedgerOptions, at: PostgresLocation): number {
  const lanes = opts.lanes ?? at.lanes ?? 2;
  if (isLaneCount(lanes)) return lanes;
  const reason = `lanes ${lanes} must be a whole number from 1 to ${MAX_LANES}`;
  throw ledgerError('MW_LEDGER_LOCATION', { location: at.label, reason });
}

/** Text columns refuse NUL; such a record is refused at append, before it is numbered. */
const TEXT_FIELDS = ['kind', 'msgId', 'causationId', 'correlationId', 'subject', 'agent'] as const;
function nulField(record: LedgerRecord): MeshwardenError | undefined {
  for (const field of TEXT_FIELDS) {
    const value = record[field];
    if (typeof value === 'string' && value.includes('\u0000')) {
      return ledgerError('MW_LEDGER_RECORD', { problem: `${field} holds a NUL character` });
    }
  }
  return undefined;
}

/** Connects, creates the schema when missing and reads every head; a failure ends the pool. */
async function connect(
  at: PostgresLocation,
  opts: PostgresLedgerOptions,
  durability: Durability,
  lanes: number,
) {
  // Every lane may hold a connection while it commits, and reads need one beside them.
  const pool = createPool(at, durability, Math.max(lanes + 1, opts.connections ?? lanes + 2));
  const tables = tablesOf(at.schema);
  try {
    const origin = await prepareSchema(pool, tables, at, opts.origin, {
      create: opts.create ?? true,
      shared: opts.shared === true,
      lockSession: opts.lockSession,
    });
    return { pool, tables, origin, heads: await readHeads(pool, tables, at) };
  } catch (err) {
    await pool.end().catch(() => {});
    if (isMeshwardenError(err)) throw err;
    const cause = connectionCause(at, err);
    throw ledgerError('MW_LEDGER_IO', { file: at.label, action: 'be opened', cause }, { cause: err });
  }
}

/** Signs the stored heads and stores the checkpoint. */
async function storeCheckpoint(
  pool: pg.Pool,
  tables: Tables,
  origin: string,
  key: SigningKey,
  heads: Map<number, Head>,
) {
  const partitions = [...heads].map(([partition, h]) => ({ partition, size: h.seq, head: h.hash }));
  const cp = signCheckpoint({ origin, at: Date.now(), partitions }, key.privateKey, key.publicKey);
  await pool.query(`INSERT INTO ${tables.checkpoints} (body) VALUES ($1)`, [canonicalize(cp)]);
  return cp;
}

/**
 * The PostgreSQL adapter of the ledger ports. Opening connects and reads each partition's head, so
 * entries are numbered at append, in call order, as in SQLite; hashing and the COPY happen at
 * commit (postgres-commit.ts), one COPY per group commit, fenced against other writers.
 * Throws MW_LEDGER_LOCATION, MW_LEDGER_IO or MW_LEDGER_SCHEMA. Shells choose it through `openLedgerAt`.
 */
export async function openPostgresLedger(opts: PostgresLedgerOptions): Promise<Ledger> {
  const at = parsePostgresLocation(opts.location, opts.schema);
  if (isMeshwardenError(at)) throw at;
  const durability = opts.durability ?? 'full';
  const lanes = lanesOf(opts, at);
  const { pool, tables, origin, heads } = await connect(at, opts, durability, lanes);
  const queries = postgresQueries(pool, tables);
  // The chainer's numbering, per partition; adopt() moves it to the stored head.
  const numbered = new Map([...heads].map(([partition, h]) => [partition, { seq: h.seq }]));
  const chain = createChainer(numbered);
  let key: SigningKey | undefined;
  let open = true;
  let failure: MeshwardenError | undefined;
  let ended: Promise<void> | undefined;
  const { promise: closed, resolve: resolveClosed } = Promise.withResolvers<void | Error>();

  /** Stops intake at once; commits what was queued (unless a commit failed), then ends the pool. */
  const shutdown = (err: MeshwardenError | undefined): Promise<void> => {
    failure ??= err;
    if (ended !== undefined) return ended;
    open = false;
    ended = (async () => {
      await committer.flush().catch(() => {});
      await pool.end().catch(() => {});
      resolveClosed(failure);
    })();
    return ended;
  };
  const committer = commitLanes(
    Array.from({ length: lanes }, () =>
      startPostgresCommitter({
        pool,
        tables,
        at,
        heads,
        batchSize: Math.max(1, opts.batchSize ?? 512),
        onFailure: (err) => void shutdown(err),
        onFenced: (partition, err) => ownership.onFenced(partition, err),
      }),
    ),
  );
  const ownership = partitionOwnership({ committer, pool, tables, at, heads, numbered });
  /** Why an append to `partition` is refused before it is numbered, if it is. */
  const refusal = (partition: number) => (open ? ownership.refusal(partition) : closedError());
  const durableHeads = () => partitionHeads(heads);
  const closedError = () =>
    ledgerError('MW_LEDGER_CLOSED', {}, failure === undefined ? {} : { cause: failure });
  const readError = (err: unknown, action = 'be read'): MeshwardenError => {
    if (isMeshwardenError(err)) return err;
    if (!open) return closedError();
    const cause = at.scrub(causeText(err));
    return ledgerError('MW_LEDGER_IO', { file: at.label, action, cause }, { cause: err });
  };

  /** Reads see every append made before them: they await the writer's flush, then query the pool. */
  const ready = async (): Promise<PostgresQueries> => {
    if (open) await committer.flush().catch(() => {});
    if (!open) throw closedError();
    return queries;
  };
  const reader = gatedReader(queries, {
    ready: async () => void (await ready()),
    isOpen: () => open,
    closedError,
    readError,
  });
  const close = () => shutdown(undefined);

  return {
    append(record: LedgerRecord, partition = 0): Promise<LedgerEntry> {
      const refused = refusal(partition) ?? nulField(record);
      if (refused !== undefined) return Promise.reject(refused);
      const chained = chain.one(record, partition);
      if (isMeshwardenError(chained)) return Promise.reject(chained);
      const { entry } = chained;
      return committer.push(entry, chained.body).then(() => entry);
    },
    appendAll(
      records: readonly LedgerRecord[],
      partition = 0,
      accepted?: () => void,
    ): Promise<LedgerEntry[]> {
      const blocked = refusal(partition);
      if (blocked !== undefined) return Promise.reject(blocked);
      for (const record of records) {
        const refused = nulField(record);
        if (refused !== undefined) return Promise.reject(refused);
      }
      const chained = chain.group(records, partition);
      if (isMeshwardenError(chained)) return Promise.reject(chained);
      const { entries } = chained;
      const durable =
        entries.length === 0
          ? Promise.resolve(entries)
          : committer.pushGroup(entries, chained.bodies).then(() => entries);
      accepted?.();
      return durable;
    },
    flush() {
      if (open) return committer.flush();
      return failure === undefined ? Promise.resolve() : Promise.reject(failure);
    },
    durability,
    heads: durableHeads,
    async adopt(partition: number): Promise<PartitionHead> {
      if (!open) throw closedError();
      try {
        return await ownership.adopt(partition);
      } catch (err) {
        throw readError(err, 'read a head');
      }
    },
    fenced: (partition: number) => ownership.fenced(partition),
    ...reader,
    ...postgresSnapshots(pool, tables, async (action, query) => {
      await ready();
      try {
        return await query();
      } catch (err) {
        throw readError(err, action);
      }
    }),
    async verify(o = {}): Promise<VerifyResult> {
      try {
        return await verifyLedger(reader, o.checkpoints, o.onProgress);
      } catch (err) {
        throw readError(err);
      }
    },
    async checkpoint(): Promise<Checkpoint> {
      if (!open) throw closedError();
      if (opts.keyFile === undefined) {
        const cause = 'no keyFile was given to open this PostgreSQL ledger with';
        throw ledgerError('MW_LEDGER_KEY', { file: '(none)', action: 'read', cause });
      }
      key ??= loadSigningKey(opts.keyFile);
      let stored: Map<number, Head>;
      try {
        // Between two commits, so that this writer's heads are exactly what it committed.
        stored = await committer.between(async () => {
          const read = await readHeads(pool, tables);
          const moved = ownership.movedOn(read);
          if (moved !== undefined) throw moved;
          return read;
        });
      } catch (err) {
        throw readError(err, 'read its heads');
      }
      try {
        return await storeCheckpoint(pool, tables, origin, key, stored);
      } catch (err) {
        throw readError(err, 'store a checkpoint');
      }
    },
    close,
    closed,
    [Symbol.asyncDispose]: close,
  };
}
