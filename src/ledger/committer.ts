import { existsSync } from 'node:fs';
import type { SQLInputValue } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { MeshwardenError } from '../envelope/index.js';
import { trackCommitBatches } from './commit-batches.js';
import type { CommitRequest, CommitSetup } from './commit-worker.js';
import { ledgerError } from './errors.js';
import {
  BUSY_TIMEOUT_MS,
  connectionPragmas,
  type Durability,
  ENTRY_COLUMNS,
  type Head,
  INSERT_ENTRY,
} from './schema.js';
import { FILL_SUBJECTS, MARK_SUBJECTS } from './subject-lookup.js';
import type { LedgerEntry } from './types.js';

/** A blocked close gives up on the worker after this long, and the ledger closes. */
const WAIT_MS = 60_000;

/** The main thread's handle on the commit worker. */
export type Committer = {
  /**
   * Hands a batch to the worker: `entries` and their column values without prev and hash (see
   * CommitBatch). Once it is committed, fills in each entry's prev and hash, moves the heads, then
   * runs `resolve`; `reject` runs if it never will be.
   */
  send(
    entries: readonly LedgerEntry[],
    cols: SQLInputValue[],
    resolve: () => void,
    reject: (err: Error) => void,
  ): void;
  /**
   * Whether the worker has committed every batch it was sent, as its reports or its counter say (no
   * report is read): the writer hands an idle worker a batch before it is full.
   */
  idle(): boolean;
  /**
   * Blocks until the worker has committed what it was sent and closed its connection, then settles
   * every batch. Idempotent; the thread itself exits a moment later. The only `Atomics.wait` left:
   * once closed, the worker must no longer hold the file, whoever opens it next (a reopen, another
   * command, a removal of the directory). Reads never wait here: they await `flush()`.
   */
  stop(): void;
  /** Kills the worker at once, as a crash would: everything not yet committed is lost. */
  terminate(): Promise<number>;
};

export type CommitterOptions = {
  readonly file: string;
  readonly durability: Durability;
  /** Entries per transaction at most when the worker merges queued batches. */
  readonly maxEntries: number;
  /**
   * Each partition's durable head, as read at open: the worker continues the chains from it, and the
   * committer moves it as commits are reported (no entry is sent before the committer starts).
   */
  readonly heads: Map<number, Head>;
  /** Called once, on the first failed commit or when the worker dies; every pending batch is rejected. */
  readonly onFailure: (err: MeshwardenError) => void;
  /** Entries committed between two fills of the subject lookup, at most (subject-lookup.ts). */
  readonly subjectFillEvery: number;
  /** How long batches in flight may go without a commit before the worker counts as stuck (60 s). */
  readonly stuckAfterMs?: number;
};

let workerUrl: URL | undefined;
/** The built worker next to this module (dist/), else its TypeScript source (vitest runs src/). */
function commitWorkerUrl(): URL {
  if (workerUrl === undefined) {
    const js = new URL('./commit-worker.js', import.meta.url);
    workerUrl = existsSync(fileURLToPath(js)) ? js : new URL('./commit-worker.ts', import.meta.url);
  }
  return workerUrl;
}

/** Starts the worker on its own connection to `file`, with the same pragmas as the main one. */
export function startCommitter(opts: CommitterOptions): Committer {
  // [0]: the last committed batch id, or -(first lost id); [1]: 1 once the worker closed its connection.
  const state = new BigInt64Array(new SharedArrayBuffer(16));
  const { worker, port } = spawnCommitWorker(opts, state);
  let lastSent = 0;
  let crash: Error | undefined;
  let stopping = false;
  /** Exited or killed: nothing to wait for. */
  let gone = false;
  const stuckAfterMs = opts.stuckAfterMs ?? WAIT_MS;
  const batches = trackCommitBatches({
    file: opts.file,
    heads: opts.heads,
    onFailure: opts.onFailure,
    port,
    stuckAfterMs,
    stuck: () => unresponsive(stuckAfterMs),
  });

  /**
   * Catches up after a wait, or once the worker is gone: every report is posted before the counter
   * says as much, so the reports there are to read cover what the counter says.
   */
  const settle = () => {
    const value = Number(Atomics.load(state, 0));
    batches.drainReports();
    if (value < 0) batches.fail('the commit worker failed');
  };

  /** Blocks until `done()` or the deadline; false when the worker did not answer in time. */
  const block = (index: number, done: (value: bigint) => boolean): boolean => {
    const deadline = performance.now() + WAIT_MS;
    for (let value = Atomics.load(state, index); !done(value); value = Atomics.load(state, index)) {
      const left = deadline - performance.now();
      if (left <= 0 || gone) return gone;
      Atomics.wait(state, index, value, left);
    }
    return true;
  };

  const unresponsive = (ms = WAIT_MS) => {
    gone = true;
    void worker.terminate();
    // What it reported before it stopped answering was committed: settled, not lost with the rest.
    batches.drainReports();
    batches.fail(`the commit worker did not answer within ${ms / 1000} s`);
  };

  port.on('message', batches.receive);
  worker.on('error', (err) => {
    crash ??= err;
  });
  worker.on('exit', (code) => {
    gone = true;
    settle();
    if (!stopping) batches.fail(`the commit worker stopped: ${crash?.message ?? `exit code ${code}`}`);
    port.close();
  });

  return {
    // Reported, or committed and not yet reported (the worker posts its report before its counter
    // moves, so either may come first).
    idle: () => batches.pending === 0 || Number(Atomics.load(state, 0)) === lastSent,
    send(entries, cols, resolve, reject) {
      if (batches.failure !== undefined || stopping) {
        return reject(batches.failure ?? ledgerError('MW_LEDGER_CLOSED', {}));
      }
      // A busy main thread reads its acknowledgements late (the event loop is not polled during a
      // long run of microtasks): settle what the worker already reported durable, early in a turn.
      batches.catchUp();
      if (batches.failure !== undefined) return reject(batches.failure);
      const id = ++lastSent;
      batches.sent({ id, entries, resolve, reject });
      port.postMessage({ id, n: entries.length, cols } satisfies CommitRequest);
    },
    stop() {
      if (stopping) return;
      stopping = true;
      if (!gone) {
        port.postMessage({ close: true } satisfies CommitRequest);
        if (!block(1, (v) => v === 1n)) return unresponsive();
      }
      settle();
      // Anything still pending was sent after a failure the worker skipped, or to a dead worker.
      if (batches.pending > 0) batches.fail('the commit worker stopped before committing every batch');
      port.close();
    },
    terminate() {
      gone = true;
      return worker.terminate();
    },
  };
}

/** The worker thread, unref'd, and the main thread's end of its channel, unref'd too. */
function spawnCommitWorker(
  opts: Pick<CommitterOptions, 'file' | 'durability' | 'maxEntries' | 'heads' | 'subjectFillEvery'>,
  state: BigInt64Array,
): { worker: Worker; port: MessagePort } {
  const { port1: port, port2 } = new MessageChannel();
  const setup: CommitSetup = {
    file: opts.file,
    timeout: BUSY_TIMEOUT_MS,
    pragmas: connectionPragmas(opts.durability),
    insert: INSERT_ENTRY,
    columns: ENTRY_COLUMNS,
    maxEntries: opts.maxEntries,
    heads: [...opts.heads].map(([partition, h]) => [partition, h.hash, h.seq] as const),
    subjects: { fill: FILL_SUBJECTS, mark: MARK_SUBJECTS, every: opts.subjectFillEvery },
    port: port2,
    state: state.buffer as SharedArrayBuffer,
  };
  const worker = new Worker(commitWorkerUrl(), {
    workerData: setup,
    transferList: [port2],
    name: 'meshwarden-ledger-commit',
  });
  // An idle ledger does not keep the process alive; batches in flight do (the port is ref'd then).
  worker.unref();
  port.unref();
  return { worker, port };
}
