import type { SQLInputValue } from 'node:sqlite';
import type { Committer } from './committer.js';
import type { LedgerEntry } from './types.js';

/** Group commit: chained entries wait here until their batch goes to the commit worker. */
export type Writer = {
  /** Queues one entry and its body; resolves once its batch is committed, its prev and hash filled in. */
  push(entry: LedgerEntry, body: string): Promise<void>;
  /** Queues entries that must commit together: they never straddle two batches. */
  pushGroup(entries: readonly LedgerEntry[], bodies: readonly string[]): Promise<void>;
  /** Resolves once everything queued so far is committed; rejects with the failure otherwise. */
  flush(): Promise<void>;
  /**
   * Sends what is queued and stops the worker, blocking until it has closed its connection: the one
   * place the ledger still waits on the worker synchronously (see committer.ts `stop`).
   */
  close(): void;
};

/**
 * Entries chained but not yet sent: their column values flat (no prev and hash: the worker computes
 * them), the entries to fill in once committed, one promise for the whole batch.
 */
type Batch = {
  readonly cols: SQLInputValue[];
  readonly entries: LedgerEntry[];
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  /** How many entries it holds when the writer next looks whether the worker is idle. */
  lookAt: number;
};

/** Entries a batch holds at least before it goes early, to a worker that has nothing to do. */
const EAGER_SIZE = 128;
/** Entries between two looks at the worker (each look is one atomic read). */
const LOOK_EVERY = 32;

/**
 * A batch goes to the worker when it reaches `batchSize`, or on the next `setImmediate` tick, or
 * when it holds `EAGER_SIZE` entries or more and the worker has committed everything it was sent (the
 * writer looks at 128 entries, then every 32 more), whichever comes first. The last rule keeps both threads busy: under load the main thread runs the
 * hops a commit released for several milliseconds, and a worker left waiting for a full batch
 * meanwhile idled about a third of the time, then held up the next hops with its commit
 * (docs/performance.md, "The commit hand-off"). A busy worker gets full batches, and merges those
 * that queue into bigger transactions. A group that does not fit in the pending batch starts the
 * next one, which may then exceed `batchSize`. The worker starts with the first batch, so a ledger
 * opened only to read never starts one.
 */
export function createWriter(start: () => Committer, batchSize: number): Writer {
  let committer: Committer | undefined;
  let batch: Batch | undefined;
  let lastSent: Promise<void> = Promise.resolve();
  let tick: NodeJS.Immediate | undefined;

  const send = () => {
    const b = batch;
    if (b === undefined) return;
    batch = undefined;
    lastSent = b.done;
    committer ??= start();
    committer.send(b.entries, b.cols, b.resolve, b.reject);
  };

  const onTick = () => {
    tick = undefined;
    send();
  };

  const open = (): Batch => {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    tick ??= setImmediate(onTick);
    batch = { cols: [], entries: [], done: promise, resolve, reject, lookAt: EAGER_SIZE };
    return batch;
  };

  /** Whether `b` goes now: it is full, or big enough for a worker that is idle. */
  const ready = (b: Batch): boolean => {
    const n = b.entries.length;
    if (n >= batchSize) return true;
    if (n < b.lookAt) return false;
    b.lookAt = n + LOOK_EVERY;
    return committer === undefined || committer.idle();
  };

  const add = (b: Batch, e: LedgerEntry, body: string) => {
    b.entries.push(e);
    b.cols.push(
      e.partition,
      e.seq,
      e.kind,
      e.at,
      e.msgId ?? null,
      e.causationId ?? null,
      e.correlationId ?? null,
      e.subject ?? null,
      e.agent ?? null,
      body,
    );
  };

  return {
    push(entry, body) {
      const b = batch ?? open();
      add(b, entry, body);
      if (ready(b)) send();
      return b.done;
    },
    pushGroup(entries, bodies) {
      if (batch !== undefined && batch.entries.length + entries.length > batchSize) send();
      const b = batch ?? open();
      for (let i = 0; i < entries.length; i++) add(b, entries[i]!, bodies[i]!);
      if (ready(b)) send();
      return b.done;
    },
    flush() {
      send();
      return lastSent;
    },
    close() {
      send();
      if (tick !== undefined) clearImmediate(tick);
      tick = undefined;
      committer?.stop();
    },
  };
}
