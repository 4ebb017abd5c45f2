// The ledger's INSERT transactions, run on a worker thread with its own SQLite connection so that the
// main thread only chains entries. Self-contained on purpose (node:* imports only, erasable types):
// Node runs it as dist/ledger/commit-worker.js, and as this .ts file, types stripped, under vitest.
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';

/** What the main thread passes in `workerData` (see committer.ts). */
export type CommitSetup = {
  readonly file: string;
  /** Busy timeout, ms. */
  readonly timeout: number;
  readonly pragmas: readonly string[];
  readonly insert: string;
  /** Values per entry in a batch's flat `cols`: must be 12, the binds of `insert`. */
  readonly columns: number;
  /** Queued batches are merged into one transaction up to this many entries. */
  readonly maxEntries: number;
  readonly port: MessagePort;
  /** Two BigInt64 slots: the last committed batch id, or -(first lost id) once a commit failed; and
   * 1 once the connection is closed. */
  readonly state: SharedArrayBuffer;
};

/** A batch: `n` entries, their column values one after the other. Ids count up from 1. */
export type CommitBatch = { readonly id: number; readonly n: number; readonly cols: SQLInputValue[] };
export type CommitRequest = CommitBatch | { readonly close: true };
/** Posted after each transaction; a failure report is posted before the counter turns negative. */
export type CommitReport =
  | { readonly committed: number }
  | { readonly failed: number; readonly error: string };

const setup = workerData as CommitSetup;
const COLUMNS = 12;
const { port, maxEntries } = setup;
const state = new BigInt64Array(setup.state);
const queue: CommitRequest[] = [];
let committed = 0;
let failed = false;
let db: DatabaseSync | undefined;
let insert: StatementSync | undefined;

/** After a failure nothing more is written: later batches chain onto the lost ones. */
const fail = (err: unknown) => {
  failed = true;
  const lost = committed + 1;
  // Report first: a main thread that sees the counter turn negative reads the report at once.
  const error = err instanceof Error ? err.message : String(err);
  port.postMessage({ failed: lost, error } satisfies CommitReport);
  Atomics.store(state, 0, BigInt(-lost));
  Atomics.notify(state, 0);
};

const commit = (batches: readonly CommitBatch[]) => {
  if (db === undefined || insert === undefined) return;
  try {
    db.exec('BEGIN IMMEDIATE');
    for (const { cols } of batches) {
      for (let i = 0; i < cols.length; i += COLUMNS) {
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
          cols[i + 10]!,
          cols[i + 11]!,
        );
      }
    }
    db.exec('COMMIT');
  } catch (err) {
    try {
      if (db.isTransaction) db.exec('ROLLBACK');
    } catch {
      // The failure below is what the main thread needs to hear about.
    }
    fail(err);
    return;
  }
  committed = batches[batches.length - 1]!.id;
  // Counter first: when the report arrives, the counter already says as much.
  Atomics.store(state, 0, BigInt(committed));
  Atomics.notify(state, 0);
  port.postMessage({ committed } satisfies CommitReport);
};

/** Closes the connection, tells the (possibly blocked) main thread, and lets the thread end. */
const stop = () => {
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
  if (setup.columns !== COLUMNS) throw new Error(`expected ${COLUMNS} columns, got ${setup.columns}`);
  db = new DatabaseSync(setup.file, { timeout: setup.timeout });
  for (const pragma of setup.pragmas) db.exec(pragma);
  insert = db.prepare(setup.insert);
} catch (err) {
  try {
    db?.close();
  } catch {
    // Reported below; nothing is written after a failed start.
  }
  db = undefined;
  fail(err);
}
