import { existsSync } from 'node:fs';
import type { SQLInputValue } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { MeshwardenError } from '../envelope/index.js';
import type { CommitReport, CommitRequest, CommitSetup } from './commit-worker.js';
import { ledgerError } from './errors.js';
import { GENESIS } from './hash.js';
import {
  BUSY_TIMEOUT_MS,
  connectionPragmas,
  type Durability,
  ENTRY_COLUMNS,
  type Head,
  INSERT_ENTRY,
} from './schema.js';
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
  /** How long batches in flight may go without a commit before the worker counts as stuck (60 s). */
  readonly stuckAfterMs?: number;
};

type InFlight = {
  readonly id: number;
  readonly entries: readonly LedgerEntry[];
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
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
  const { file } = opts;
  // [0]: the last committed batch id, or -(first lost id); [1]: 1 once the worker closed its connection.
  const state = new BigInt64Array(new SharedArrayBuffer(16));
  const { port1: port, port2 } = new MessageChannel();
  const setup: CommitSetup = {
    file,
    timeout: BUSY_TIMEOUT_MS,
    pragmas: connectionPragmas(opts.durability),
    insert: INSERT_ENTRY,
    columns: ENTRY_COLUMNS,
    maxEntries: opts.maxEntries,
    heads: [...opts.heads].map(([partition, h]) => [partition, h.hash] as const),
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
  let inflight: InFlight[] = [];
  let lastSent = 0;
  let failure: MeshwardenError | undefined;
  let crash: Error | undefined;
  let stopping = false;
  /** Exited or killed: nothing to wait for. */
  let gone = false;
  const stuckAfterMs = opts.stuckAfterMs ?? WAIT_MS;
  /**
   * Armed while batches are in flight, reset by each commit: a worker that commits nothing for
   * `stuckAfterMs` is stuck (a hung disk, a lock never released). Its batches fail and the ledger
   * closes with MW_LEDGER_IO, so appends and the reads that await them end instead of hanging.
   */
  let watchdog: NodeJS.Timeout | undefined;
  const watch = () => {
    clearTimeout(watchdog);
    watchdog = undefined;
    if (inflight.length === 0 || failure !== undefined) return;
    watchdog = setTimeout(() => {
      watchdog = undefined;
      // A main thread busy for that long may not have read reports the worker posted: read them first.
      drainReports();
      if (inflight.length > 0 && failure === undefined) unresponsive(stuckAfterMs);
    }, stuckAfterMs);
    watchdog.unref();
  };

  const fail = (cause: string, fenced?: { partition: number; seq: number }) => {
    if (failure !== undefined) return;
    const n = inflight.reduce((sum, b) => sum + b.entries.length, 0);
    failure =
      fenced === undefined
        ? ledgerError('MW_LEDGER_IO', { file, action: `commit ${n} entries`, cause })
        : ledgerError(
            'MW_LEDGER_FENCED',
            { location: file, partition: String(fenced.partition), seq: String(fenced.seq) },
            { details: fenced },
          );
    clearTimeout(watchdog);
    const lost = inflight;
    inflight = [];
    port.unref();
    for (const b of lost) b.reject(failure);
    opts.onFailure(failure);
  };

  const { heads } = opts;
  /** Fills in prev and hash of the entries a report covers, in order, moving the heads with them. */
  const link = (entries: readonly LedgerEntry[], hashes: string, at: number): number => {
    for (const entry of entries) {
      const e = entry as { -readonly [K in keyof LedgerEntry]: LedgerEntry[K] };
      let head = heads.get(e.partition);
      if (head === undefined) {
        head = { seq: 0, hash: GENESIS };
        heads.set(e.partition, head);
      }
      e.prev = head.hash;
      e.hash = `sha256:${hashes.slice(at, at + 64)}`;
      head.seq = e.seq;
      head.hash = e.hash;
      at += 64;
    }
    return at;
  };

  /** Resolves the batches up to `done`, in order, their hashes (64 hex digits each) in `hashes`. */
  const advance = (done: number, hashes: string) => {
    let i = 0;
    let at = 0;
    while (i < inflight.length && inflight[i]!.id <= done) {
      const b = inflight[i++]!;
      at = link(b.entries, hashes, at);
      b.resolve();
    }
    if (i > 0) {
      inflight = inflight.slice(i);
      watch();
    }
    if (inflight.length === 0) port.unref();
  };

  const receive = (report: CommitReport) => {
    if ('committed' in report) return advance(report.committed, report.hashes);
    // Nothing after the last success was committed; the failure rejects it all.
    fail(report.error, report.fenced);
  };

  /** Reads the reports already posted, without waiting for the event loop. */
  const drainReports = () => {
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      receive(m.message as CommitReport);
    }
  };

  /**
   * Catches up after a wait, or once the worker is gone: every report is posted before the counter
   * says as much, so the reports there are to read cover what the counter says.
   */
  const settle = () => {
    const value = Number(Atomics.load(state, 0));
    drainReports();
    if (value < 0) fail('the commit worker failed');
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
    fail(`the commit worker did not answer within ${ms / 1000} s`);
  };

  port.on('message', receive);
  worker.on('error', (err) => {
    crash ??= err;
  });
  worker.on('exit', (code) => {
    gone = true;
    settle();
    if (!stopping) fail(`the commit worker stopped: ${crash?.message ?? `exit code ${code}`}`);
    port.close();
  });

  return {
    send(entries, cols, resolve, reject) {
      if (failure !== undefined || stopping) return reject(failure ?? ledgerError('MW_LEDGER_CLOSED', {}));
      // A busy main thread reads its acknowledgements late (the event loop is not polled during a
      // long run of microtasks): settle what the worker already reported durable.
      drainReports();
      if (failure !== undefined) return reject(failure);
      const id = ++lastSent;
      inflight.push({ id, entries, resolve, reject });
      if (watchdog === undefined) watch();
      port.ref();
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
      if (inflight.length > 0) fail('the commit worker stopped before committing every batch');
      port.close();
    },
    terminate() {
      gone = true;
      return worker.terminate();
    },
  };
}
