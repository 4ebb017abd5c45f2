import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { MeshwardenError } from '../envelope/index.js';
import type { CommitReport } from './commit-worker.js';
import type { CommitterOptions } from './committer.js';
import { ledgerError } from './errors.js';
import { GENESIS } from './hash.js';
import type { Head } from './schema.js';
import type { LedgerEntry } from './types.js';

/** A batch posted to the commit worker and not yet reported. */
export type InFlight = {
  readonly id: number;
  readonly entries: readonly LedgerEntry[];
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
};

/**
 * The batches in flight on the commit worker, settled by its reports: resolved in order as commits
 * are reported, or all rejected by the first failure. Their port is ref'd while any is in flight.
 */
export type CommitBatches = {
  /** The first failure; from then on every batch is rejected with it. */
  readonly failure: MeshwardenError | undefined;
  /** Batches posted and not yet reported. */
  readonly pending: number;
  /** A batch is about to be posted: tracked, watched, and the port ref'd until it is reported. */
  sent(batch: InFlight): void;
  /**
   * Settles what a report from the worker says (the port's message event), or, once this turn of the
   * event loop has settled its share (`TURN_ENTRIES`), in the next turn.
   */
  receive(report: CommitReport): void;
  /** Reads every report already posted, without waiting for the event loop. */
  drainReports(): void;
  /**
   * Settles reports already posted, without waiting for the event loop, until this turn has settled
   * its share; the others wait for the next turn.
   */
  catchUp(): void;
  /** The first failure rejects every batch in flight and is told to `onFailure`; later ones are ignored. */
  fail(cause: string, fenced?: { partition: number; seq: number }): void;
};

export type CommitBatchesDeps = Pick<CommitterOptions, 'file' | 'heads' | 'onFailure'> & {
  /** The main thread's end of the worker's channel: reports come in on it. */
  readonly port: MessagePort;
  readonly stuckAfterMs: number;
  /** Batches went `stuckAfterMs` without a commit, reports read: the worker counts as stuck. */
  readonly stuck: () => void;
};

export function trackCommitBatches(deps: CommitBatchesDeps): CommitBatches {
  const { file, heads, port, stuckAfterMs } = deps;
  let inflight: InFlight[] = [];
  let failure: MeshwardenError | undefined;
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
      if (inflight.length > 0 && failure === undefined) deps.stuck();
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
    deps.onFailure(failure);
  };

  /** Resolves the batches up to `done`, in order, their hashes (64 hex digits each) in `hashes`. */
  const advance = (done: number, hashes: string) => {
    let i = 0;
    let at = 0;
    while (i < inflight.length && inflight[i]!.id <= done) {
      const b = inflight[i++]!;
      at = linkEntries(heads, b.entries, hashes, at);
      settledThisTurn += b.entries.length;
      b.resolve();
    }
    if (i > 0) {
      inflight = inflight.slice(i);
      watch();
    }
    if (inflight.length === 0) port.unref();
  };

  const settle = (report: CommitReport) => {
    if ('committed' in report) return advance(report.committed, report.hashes);
    // Nothing after the last success was committed; the failure rejects it all.
    fail(report.error, report.fenced);
  };

  // Each report settled releases the hops that waited for its commit, and a busy worker posts the next
  // report before they are done. Settled as they came, reports held the event loop for seconds under
  // load (Node hands a port up to 1,000 messages in one go), while timers, HTTP and the telemetry
  // export waited. So one turn of the event loop settles reports until TURN_ENTRIES entries are
  // settled (the last report whole); the others wait for the next turn, in the order they came.
  let settledThisTurn = 0;
  const waiting: CommitReport[] = [];
  let turnAhead = false;
  const young = () => settledThisTurn < TURN_ENTRIES;
  // A report leaves `waiting` before it is settled: settling one may drain the rest (a failure
  // closes the ledger, whose stop reads every report).
  const onNextTurn = () => {
    turnAhead = false;
    settledThisTurn = 0;
    try {
      while (waiting.length > 0 && young()) settle(waiting.shift()!);
    } finally {
      turnEnds();
    }
  };
  /** Next turn: a new budget, and the reports that waited for it. */
  const turnEnds = () => {
    if (turnAhead || (settledThisTurn === 0 && waiting.length === 0)) return;
    turnAhead = true;
    setImmediate(onNextTurn);
  };
  const drainReports = () => {
    while (waiting.length > 0) settle(waiting.shift()!);
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      settle(m.message as CommitReport);
    }
  };
  const receive = (report: CommitReport) => {
    if (waiting.length === 0 && young()) settle(report);
    else waiting.push(report);
    turnEnds();
  };

  return {
    get failure() {
      return failure;
    },
    get pending() {
      return inflight.length;
    },
    sent(batch) {
      inflight.push(batch);
      if (watchdog === undefined) watch();
      port.ref();
    },
    receive,
    drainReports,
    catchUp() {
      if (waiting.length > 0 || !young()) return;
      for (
        let m = receiveMessageOnPort(port);
        m !== undefined;
        m = young() ? receiveMessageOnPort(port) : undefined
      )
        settle(m.message as CommitReport);
      turnEnds();
    },
    fail,
  };
}

/**
 * Entries whose commit reports one turn of the event loop settles at most (a report is settled
 * whole); the hops they release run in that turn, so the loop polls I/O and runs timers between.
 */
export const TURN_ENTRIES = 256;

/**
 * Fills in prev and hash of the entries a report covers, in order, moving the heads with them;
 * returns where the next entry's hash starts in `hashes`.
 */
function linkEntries(
  heads: Map<number, Head>,
  entries: readonly LedgerEntry[],
  hashes: string,
  at: number,
): number {
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
}
