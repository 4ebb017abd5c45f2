import type { SQLInputValue } from 'node:sqlite';
import type { Committer } from './committer.js';
import type { LedgerEntry } from './types.js';

/** Group commit: chained entries wait here until their batch goes to the commit worker. */
export type Writer = {
  /** Queues one entry and its body; resolves once its batch is committed. */
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

/** Entries chained but not yet sent: their column values flat, one promise for the whole batch. */
type Batch = {
  readonly cols: SQLInputValue[];
  n: number;
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
};

/**
 * A batch goes to the worker when it reaches `batchSize` or on the next `setImmediate` tick,
 * whichever comes first; a group that does not fit in the pending batch starts the next one, which
 * may then exceed `batchSize`. The worker starts with the first batch, so a ledger opened only to
 * read never starts one.
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
    committer.send(b.n, b.cols, b.resolve, b.reject);
  };

  const onTick = () => {
    tick = undefined;
    send();
  };

  const open = (): Batch => {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    tick ??= setImmediate(onTick);
    batch = { cols: [], n: 0, done: promise, resolve, reject };
    return batch;
  };

  const add = (cols: SQLInputValue[], e: LedgerEntry, body: string) => {
    cols.push(
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
      e.prev,
      e.hash,
    );
  };

  return {
    push(entry, body) {
      const b = batch ?? open();
      add(b.cols, entry, body);
      b.n++;
      if (b.n >= batchSize) send();
      return b.done;
    },
    pushGroup(entries, bodies) {
      if (batch !== undefined && batch.n + entries.length > batchSize) send();
      const b = batch ?? open();
      for (let i = 0; i < entries.length; i++) add(b.cols, entries[i]!, bodies[i]!);
      b.n += entries.length;
      if (b.n >= batchSize) send();
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
