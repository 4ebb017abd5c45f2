import { existsSync } from 'node:fs';
import type { SQLInputValue } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { MeshwardenError } from '../envelope/index.js';
import type { CommitReport, CommitRequest, CommitSetup } from './commit-worker.js';
import { ledgerError } from './errors.js';
import {
  BUSY_TIMEOUT_MS,
  connectionPragmas,
  type Durability,
  ENTRY_COLUMNS,
  INSERT_ENTRY,
} from './schema.js';

/** A blocked close gives up on the worker after this long, and the ledger closes. */
const WAIT_MS = 60_000;

/** The main thread's handle on the commit worker. */
export type Committer = {
  /** Hands a batch to the worker; `resolve` runs once it is committed, `reject` if it never will be. */
  send(n: number, cols: SQLInputValue[], resolve: () => void, reject: (err: Error) => void): void;
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
  /** Called once, on the first failed commit or when the worker dies; every pending batch is rejected. */
  readonly onFailure: (err: MeshwardenError) => void;
};

type InFlight = {
  readonly id: number;
  readonly n: number;
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

  const fail = (cause: string) => {
    if (failure !== undefined) return;
    const n = inflight.reduce((sum, b) => sum + b.n, 0);
    failure = ledgerError('MW_LEDGER_IO', { file, action: `commit ${n} entries`, cause });
    const lost = inflight;
    inflight = [];
    port.unref();
    for (const b of lost) b.reject(failure);
    opts.onFailure(failure);
  };

  /** Resolves the batches up to `done`, in order. */
  const advance = (done: number) => {
    let i = 0;
    while (i < inflight.length && inflight[i]!.id <= done) inflight[i++]!.resolve();
    if (i > 0) inflight = inflight.slice(i);
    if (inflight.length === 0) port.unref();
  };

  const receive = (report: CommitReport) => {
    if ('committed' in report) return advance(report.committed);
    advance(report.failed - 1);
    fail(report.error);
  };

  /** Catches up with the shared counter (after a wait, or once the worker is gone). */
  const settle = () => {
    const value = Number(Atomics.load(state, 0));
    if (value >= 0) return advance(value);
    // A failure report is posted before the counter turns negative: it is there to read.
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      receive(m.message as CommitReport);
    }
    advance(-value - 1);
    fail('the commit worker failed');
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

  const unresponsive = () => {
    gone = true;
    void worker.terminate();
    fail(`the commit worker did not answer within ${WAIT_MS / 1000} s`);
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
    send(n, cols, resolve, reject) {
      if (failure !== undefined || stopping) return reject(failure ?? ledgerError('MW_LEDGER_CLOSED', {}));
      // A busy main thread reads its acknowledgements late (the event loop is not polled during a
      // long run of microtasks); the counter is current, so settle what it already says is durable.
      const committed = Number(Atomics.load(state, 0));
      if (committed > 0) advance(committed);
      const id = ++lastSent;
      inflight.push({ id, n, resolve, reject });
      port.ref();
      port.postMessage({ id, n, cols } satisfies CommitRequest);
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
