import type pg from 'pg';
import type { MeshwardenError } from '../envelope/index.js';
import { causeText, ledgerError } from './errors.js';
import { chainHash, GENESIS, leafHash } from './hash.js';
import type { Head, PostgresLocation, Tables } from './postgres-schema.js';
import type { LedgerEntry } from './types.js';

/** Group commit on PostgreSQL: chained entries wait here until their batch's INSERT has committed. */
export type PostgresCommitter = {
  /** Queues one entry and its body; resolves once committed, its prev and hash filled in. */
  push(entry: LedgerEntry, body: string): Promise<void>;
  /** Queues entries that must commit together: they never straddle two statements. */
  pushGroup(entries: readonly LedgerEntry[], bodies: readonly string[]): Promise<void>;
  /** Resolves once everything queued so far is committed; rejects with the failure otherwise. */
  flush(): Promise<void>;
};

export type PostgresCommitterOptions = {
  readonly pool: pg.Pool;
  readonly tables: Tables;
  readonly at: PostgresLocation;
  /** Entries per statement at most when queued batches are merged (a group is never split). */
  readonly batchSize: number;
  /** Each partition's durable head: commits continue the chains from it and move it. */
  readonly heads: Map<number, Head>;
  /** Called once, on the first failed commit; every batch queued is rejected with the same error. */
  readonly onFailure: (err: MeshwardenError) => void;
};

type Batch = {
  readonly entries: LedgerEntry[];
  readonly bodies: string[];
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  /** Set when sealed: hashed and written out while the statement before it runs. */
  prepared?: Prepared;
};

/** A sealed batch: its 12 columns as array elements (bodies as they are), each partition's first row. */
type Prepared = {
  readonly elems: string[][];
  readonly guards: Map<number, readonly [seq: number, prev: string]>;
  readonly linked: [entry: LedgerEntry, prev: string, hash: string][];
};

/**
 * Bodies travel as one text, joined by U+001F, which canonical JSON always escapes (every control
 * character is written `\u00XX`), so nothing needs quoting: PostgreSQL splits it with
 * `string_to_array`. Prev and hash (`sha256:<hex>`) need no quotes in an array literal either.
 */
const BODY_SEPARATOR = '\u001f';
const RAW = new Set([9, 10, 11]);

/** One element of a PostgreSQL array literal: NULL, a number, or a quoted text. */
function element(value: string | number | undefined): string {
  if (value === undefined) return 'NULL';
  if (typeof value === 'number') return String(value);
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

// One statement per commit, atomic on its own (autocommit): every row from arrays, inserted only if
// each partition's first row continues the chain as stored (its prev is the stored hash of seq − 1,
// GENESIS for seq 1). The rows after it chain onto it within the statement, and the primary key
// (partition, seq) refuses a seq that another writer took meanwhile (its uncommitted insert makes
// this one wait, then fail). So a writer with a stale head inserts nothing, and no chain forks.
const insertSql = (t: Tables) => `
INSERT INTO ${t.entries} (partition, seq, kind, at, msg_id, causation_id, correlation_id, subject, agent, body, prev, hash)
SELECT * FROM unnest($1::int[], $2::bigint[], $3::text[], $4::float8[], $5::text[], $6::text[], $7::text[],
  $8::text[], $9::text[], string_to_array($10::text, E'\\x1f'), $11::text[], $12::text[])
WHERE NOT EXISTS (${staleSql(t, 13)})`;
/** Each partition's first row whose prev is not the stored hash before it; the arrays bind from `$n`. */
const staleSql = (t: Tables, n: number) => `
SELECT f.partition, f.seq FROM unnest($${n}::int[], $${n + 1}::bigint[], $${n + 2}::text[]) AS f (partition, seq, prev)
WHERE f.prev IS DISTINCT FROM coalesce(
  (SELECT e.hash FROM ${t.entries} e WHERE e.partition = f.partition AND e.seq = f.seq - 1),
  CASE WHEN f.seq = 1 THEN '${GENESIS}' END)`;

/**
 * Hashes a batch's chains and writes its columns out as array elements, at seal time, so that the
 * work overlaps the statement in flight (one row per entry, in order; `pg` sends the text as is).
 * `headOf` gives each partition's hash before the batch.
 */
function prepareBatch(
  entries: readonly LedgerEntry[],
  bodies: readonly string[],
  headOf: (partition: number) => string,
): Prepared {
  const elems: string[][] = Array.from({ length: 12 }, () => []);
  const guards = new Map<number, readonly [number, string]>();
  const links = new Map<number, string>();
  const linked: [LedgerEntry, string, string][] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const body = bodies[i]!;
    const prev = links.get(e.partition) ?? headOf(e.partition);
    if (!guards.has(e.partition)) guards.set(e.partition, [e.seq, prev]);
    const hash = chainHash(prev, leafHash(body));
    links.set(e.partition, hash);
    linked.push([e, prev, hash]);
    const row = [e.partition, e.seq, e.kind, e.at, e.msgId, e.causationId, e.correlationId];
    row.push(e.subject, e.agent, body, prev, hash);
    for (let c = 0; c < 12; c++) elems[c]!.push(RAW.has(c) ? (row[c] as string) : element(row[c]));
  }
  return { elems, guards, linked };
}

/** One statement's parameters from the batches it merges: 12 column texts, then the guard arrays. */
function statementParams(parts: readonly Prepared[]) {
  const cols: unknown[][] = [[], [], []];
  const guarded = new Set<number>();
  for (const { guards } of parts) {
    for (const [partition, [seq, prev]] of guards) {
      if (guarded.has(partition)) continue;
      guarded.add(partition);
      cols[0]!.push(partition);
      cols[1]!.push(seq);
      cols[2]!.push(prev);
    }
  }
  const linked = parts.flatMap((p) => p.linked);
  const arrays = Array.from({ length: 12 }, (_, c) =>
    c === 9
      ? parts.map((p) => p.elems[c]!.join(BODY_SEPARATOR)).join(BODY_SEPARATOR)
      : `{${parts.map((p) => p.elems[c]!.join(',')).join(',')}}`,
  );
  return { arrays, cols, linked };
}

const UNIQUE_VIOLATION = '23505';

/** `details` names the chain and the seq refused, as numbers, for a shell that handles ownership. */
function fencedError(at: PostgresLocation, partition: unknown, seq: unknown): MeshwardenError {
  return ledgerError(
    'MW_LEDGER_FENCED',
    { location: at.label, partition: String(partition), seq: String(seq) },
    { details: { partition: Number(partition), seq: Number(seq) } },
  );
}

/** The statement inserted nothing: names the first partition whose chain moved on. */
async function staleWriter(
  pool: pg.Pool,
  tables: Tables,
  at: PostgresLocation,
  guards: unknown[][],
): Promise<MeshwardenError> {
  try {
    const sql = `${staleSql(tables, 1)} LIMIT 1`;
    const { rows } = await pool.query<{ partition: number; seq: string }>(sql, guards);
    return fencedError(at, rows[0]?.partition ?? guards[0]![0], rows[0]?.seq ?? guards[1]![0]);
  } catch {
    return fencedError(at, guards[0]![0], guards[1]![0]);
  }
}

/** Another writer holds a seq: a unique violation's detail reads `Key (partition, seq)=(3, 7) already exists.` */
function seqTaken(at: PostgresLocation, detail: string | undefined): MeshwardenError {
  const m = /=\((\d+), (\d+)\)/.exec(detail ?? '');
  return fencedError(at, m?.[1] ?? -1, m?.[2] ?? -1);
}

export function startPostgresCommitter(opts: PostgresCommitterOptions): PostgresCommitter {
  const { pool, tables, at, heads, batchSize } = opts;
  const insert = insertSql(tables);
  let waiting: Batch | undefined;
  const queued: Batch[] = [];
  let running = false;
  let failure: MeshwardenError | undefined;
  let lastDone: Promise<void> = Promise.resolve();
  /** A seal is scheduled for the next turn of the event loop: a batch holds what one tick appends. */
  let ticking = false;
  /** Each partition's hash as of the last sealed batch: where the next one's chain continues. */
  const sealed = new Map<number, string>();

  const open = (): Batch => {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    // Awaited by whoever appends; a failure is also reported through onFailure, so never unhandled.
    promise.catch(() => {});
    if (!ticking) {
      ticking = true;
      setImmediate(() => {
        ticking = false;
        seal();
      });
    }
    waiting = { entries: [], bodies: [], done: promise, resolve, reject };
    return waiting;
  };

  /** Closes the batch being filled, prepares it, and hands it to the commit loop. */
  const seal = () => {
    const b = waiting;
    if (b === undefined) return;
    waiting = undefined;
    b.prepared = prepareBatch(b.entries, b.bodies, (p) => sealed.get(p) ?? heads.get(p)?.hash ?? GENESIS);
    for (const [entry, , hash] of b.prepared.linked) sealed.set(entry.partition, hash);
    queued.push(b);
    lastDone = b.done;
    void next();
  };

  const fail = (err: MeshwardenError, lost: readonly Batch[]) => {
    failure ??= err;
    for (const b of [...lost, ...queued.splice(0)]) b.reject(failure);
    if (waiting !== undefined) waiting.reject(failure);
    waiting = undefined;
    opts.onFailure(failure);
  };

  /** Commits the queued batches, merged up to `batchSize` entries, one statement at a time. */
  const next = async () => {
    if (running || failure !== undefined) return;
    running = true;
    while (queued.length > 0 && failure === undefined) {
      let end = 1;
      let n = queued[0]!.entries.length;
      for (; end < queued.length && n + queued[end]!.entries.length <= batchSize; end++) {
        n += queued[end]!.entries.length;
      }
      const batches = queued.splice(0, end);
      const err = await commit(batches);
      if (err !== undefined) fail(err, batches);
      else for (const b of batches) b.resolve();
    }
    running = false;
  };

  /** Inserts the prepared batches in one statement, and moves the heads once it has committed. */
  const commit = async (batches: readonly Batch[]): Promise<MeshwardenError | undefined> => {
    const { arrays, cols, linked } = statementParams(batches.map((b) => b.prepared!));
    try {
      const result = await pool.query(insert, [...arrays, ...cols]);
      if (result.rowCount !== linked.length) return await staleWriter(pool, tables, at, cols);
    } catch (err) {
      const pgErr = err as { code?: string; detail?: string };
      if (pgErr.code === UNIQUE_VIOLATION) return seqTaken(at, pgErr.detail);
      const action = `commit ${linked.length} entries`;
      return ledgerError(
        'MW_LEDGER_IO',
        { file: at.label, action, cause: at.scrub(causeText(err)) },
        { cause: err },
      );
    }
    for (const [entry, prev, hash] of linked) {
      const e = entry as { -readonly [K in keyof LedgerEntry]: LedgerEntry[K] };
      e.prev = prev;
      e.hash = hash;
      const head = heads.get(e.partition);
      if (head === undefined) heads.set(e.partition, { seq: e.seq, hash });
      else {
        head.seq = e.seq;
        head.hash = hash;
      }
    }
    return undefined;
  };

  const rejected = () => Promise.reject(failure ?? ledgerError('MW_LEDGER_CLOSED', {}));

  return {
    push(entry, body) {
      if (failure !== undefined) return rejected();
      const b = waiting ?? open();
      b.entries.push(entry);
      b.bodies.push(body);
      if (b.entries.length >= batchSize) seal();
      return b.done;
    },
    pushGroup(entries, bodies) {
      if (failure !== undefined) return rejected();
      if (waiting !== undefined && waiting.entries.length + entries.length > batchSize) seal();
      const b = waiting ?? open();
      for (let i = 0; i < entries.length; i++) {
        b.entries.push(entries[i]!);
        b.bodies.push(bodies[i]!);
      }
      if (b.entries.length >= batchSize) seal();
      return b.done;
    },
    flush() {
      if (failure !== undefined) return Promise.reject(failure);
      seal();
      return lastDone;
    },
  };
}
