// The ledger's hash chains and INSERT transactions, run on a worker thread with its own SQLite
// connection so that the main thread only numbers entries and builds their bodies. Self-contained on
// purpose (node:* imports only, erasable types): Node runs it as dist/ledger/commit-worker.js, and as
// this .ts file, types stripped, under vitest.
import { hash } from 'node:crypto';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';

/** What the main thread passes in `workerData` (see committer.ts). */
export type CommitSetup = {
  readonly file: string;
  /** Busy timeout, ms. */
  readonly timeout: number;
  readonly pragmas: readonly string[];
  readonly insert: string;
  /** The binds of `insert`: must be 12, the 10 values per entry a batch's flat `cols` holds, then prev and hash. */
  readonly columns: number;
  /** Each partition's head when the worker starts (partitions not listed start at GENESIS, seq 0). */
  readonly heads: readonly (readonly [partition: number, hash: string, seq: number])[];
  /**
   * The subject lookup (subject-lookup.ts): `fill` puts a partition's entries past a seq into it, `mark`
   * records how far it goes; run in a commit's transaction once `every` entries are past it.
   */
  readonly subjects: { readonly fill: string; readonly mark: string; readonly every: number };
  /** Queued batches are merged into one transaction up to this many entries. */
  readonly maxEntries: number;
  readonly port: MessagePort;
  /** Two BigInt64 slots: the last committed batch id, or -(first lost id) once a commit failed; and
   * 1 once the connection is closed. */
  readonly state: SharedArrayBuffer;
};

/**
 * A batch: `n` entries, their column values one after the other (partition, seq, kind, at, msg_id,
 * causation_id, correlation_id, subject, agent, body), each partition's in seq order. Ids count up
 * from 1.
 */
export type CommitBatch = { readonly id: number; readonly n: number; readonly cols: SQLInputValue[] };
export type CommitRequest = CommitBatch | { readonly close: true };
/**
 * Posted after each transaction, before the counter says as much: `hashes` holds the 64 hex digits
 * of each entry's hash committed since the last report, in order. A failure report is posted before
 * the counter turns negative.
 */
export type CommitReport =
  | { readonly committed: number; readonly hashes: string }
  | {
      readonly failed: number;
      readonly error: string;
      /** Set when another writer holds the row's (partition, seq): this writer's head is stale. */
      readonly fenced?: { readonly partition: number; readonly seq: number };
    };

const setup = workerData as CommitSetup;
/** Values per entry in `cols`; the insert binds two more, prev and hash. */
const COLUMNS = 10;
const GENESIS = `sha256:${'0'.repeat(64)}`;
const { port, maxEntries } = setup;
const state = new BigInt64Array(setup.state);
const heads = new Map<number, string>(setup.heads.map(([partition, hash]) => [partition, hash]));
/** Each partition's last committed seq, and how far the subject lookup goes (read at start). */
const lastSeq = new Map<number, number>(setup.heads.map(([partition, , seq]) => [partition, seq]));
const subjectsFilledTo = new Map<number, number>();
/** Entries committed past the subject lookup, all partitions together. */
let unfilled = 0;
const queue: CommitRequest[] = [];
let committed = 0;
let failed = false;
let db: DatabaseSync | undefined;
let insert: StatementSync | undefined;
let fill: StatementSync | undefined;
let mark: StatementSync | undefined;

/** After a failure nothing more is written: later batches chain onto the lost ones. */
const fail = (err: unknown, at?: { partition: number; seq: number }) => {
  failed = true;
  const lost = committed + 1;
  // Report first: a main thread that sees the counter turn negative reads the report at once.
  const error = err instanceof Error ? err.message : String(err);
  const fenced = at !== undefined && error.includes('UNIQUE constraint failed') ? { fenced: at } : {};
  port.postMessage({ failed: lost, error, ...fenced } satisfies CommitReport);
  Atomics.store(state, 0, BigInt(-lost));
  Atomics.notify(state, 0);
};

/**
 * The chain link of ledger/hash.ts, `H(0x01 ‖ prev ‖ H(0x00 ‖ body))` over `sha256:<hex>` texts,
 * restated here (this file imports nothing of the ledger); the conformance suite checks the two agree.
 */
const linkHex = (prev: string, body: string): string =>
  hash('sha256', `\u0001${prev}sha256:${hash('sha256', `\u0000${body}`, 'hex')}`, 'hex');

/**
 * Puts every partition's entries past the subject lookup into it, in the open transaction; returns
 * how far each partition then goes, to keep once that transaction commits. A failure says it was the
 * lookup's, not an entry's.
 */
const fillSubjects = (): [partition: number, seq: number][] => {
  const filled: [number, number][] = [];
  if (fill === undefined || mark === undefined) return filled;
  try {
    for (const [partition, seq] of lastSeq) {
      const from = subjectsFilledTo.get(partition) ?? 0;
      if (seq <= from) continue;
      fill.run(partition, from);
      mark.run(partition, seq);
      filled.push([partition, seq]);
    }
  } catch (err) {
    throw new Error(
      `filling the lookup by subject failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return filled;
};

const keepFilled = (filled: readonly [number, number][]) => {
  for (const [partition, seq] of filled) subjectsFilledTo.set(partition, seq);
  unfilled = 0;
};

const commit = (batches: readonly CommitBatch[]) => {
  if (db === undefined || insert === undefined) return;
  const hashes: string[] = [];
  let row: { partition: number; seq: number } | undefined;
  let filled: [number, number][] | undefined;
  try {
    db.exec('BEGIN IMMEDIATE');
    for (const { cols } of batches) {
      for (let i = 0; i < cols.length; i += COLUMNS) {
        const partition = cols[i] as number;
        row = { partition, seq: cols[i + 1] as number };
        lastSeq.set(partition, row.seq);
        unfilled++;
        const prev = heads.get(partition) ?? GENESIS;
        const hex = linkHex(prev, cols[i + 9] as string);
        const entryHash = `sha256:${hex}`;
        heads.set(partition, entryHash);
        hashes.push(hex);
        // Spelled out: spreading a slice per row costs more than the insert's bookkeeping.
        insert.run(
          cols[i]!,
          cols[i + 1]!,
          cols[i + 2]!,
          cols[i + 3]!,
          cols[i + 4]!,
          cols[i + 5]!,
          cols[i + 6]!,
          cols[i + 7]!,
          cols[i + 8]!,
          cols[i + 9]!,
          prev,
          entryHash,
        );
      }
    }
    if (unfilled >= setup.subjects.every) {
      row = undefined;
      filled = fillSubjects();
    }
    db.exec('COMMIT');
  } catch (err) {
    try {
      if (db.isTransaction) db.exec('ROLLBACK');
    } catch {
      // The failure below is what the main thread needs to hear about.
    }
    fail(err, row);
    return;
  }
  if (filled !== undefined) keepFilled(filled);
  committed = batches[batches.length - 1]!.id;
  // Report first, as for a failure: a main thread that sees the counter move reads the hashes at once.
  port.postMessage({ committed, hashes: hashes.join('') } satisfies CommitReport);
  Atomics.store(state, 0, BigInt(committed));
  Atomics.notify(state, 0);
};

/** Closes the connection, tells the (possibly blocked) main thread, and lets the thread end. */
const stop = () => {
  // A ledger closed cleanly leaves no entries past the subject lookup (a crash leaves at most about
  // `every` of them, which lookups read through the tail's index, and the next commits fill).
  if (db !== undefined && !failed && unfilled > 0) {
    try {
      db.exec('BEGIN IMMEDIATE');
      const filled = fillSubjects();
      db.exec('COMMIT');
      keepFilled(filled);
    } catch {
      try {
        if (db.isTransaction) db.exec('ROLLBACK');
      } catch {
        // The entries are committed; lookups by subject read them by the primary key.
      }
    }
  }
  try {
    db?.close();
  } catch {
    // Closing after a failed write may fail too; nothing more is written either way.
  }
  Atomics.store(state, 1, 1n);
  Atomics.notify(state, 1);
  port.close();
};

/** Takes whatever is queued, merging batches up to `maxEntries`; a close request ends the loop. */
const drain = () => {
  for (;;) {
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      queue.push(m.message as CommitRequest);
    }
    const head = queue[0];
    if (head === undefined) return;
    if ('close' in head) return stop();
    let end = 1;
    let n = head.n;
    for (; end < queue.length; end++) {
      const next = queue[end]!;
      if ('close' in next || n + next.n > maxEntries) break;
      n += next.n;
    }
    const batches = queue.splice(0, end) as CommitBatch[];
    if (!failed) commit(batches);
  }
};

port.on('message', (first: CommitRequest) => {
  queue.push(first);
  drain();
});

try {
  if (setup.columns !== COLUMNS + 2) throw new Error(`expected ${COLUMNS + 2} columns, got ${setup.columns}`);
  db = new DatabaseSync(setup.file, { timeout: setup.timeout });
  for (const pragma of setup.pragmas) db.exec(pragma);
  insert = db.prepare(setup.insert);
  fill = db.prepare(setup.subjects.fill);
  mark = db.prepare(setup.subjects.mark);
  for (const r of db.prepare('SELECT partition, seq FROM subject_filled').all()) {
    subjectsFilledTo.set(Number(r.partition), Number(r.seq));
  }
  for (const [partition, seq] of lastSeq)
    unfilled += Math.max(0, seq - (subjectsFilledTo.get(partition) ?? 0));
} catch (err) {
  try {
    db?.close();
  } catch {
    // Reported below; nothing is written after a failed start.
  }
  db = undefined;
  fail(err);
}
