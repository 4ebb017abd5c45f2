import type { DatabaseSync } from 'node:sqlite';
import type { MeshwardenError } from '../envelope/index.js';
import { causeText, ledgerError } from './errors.js';
import { INSERT_ENTRY } from './schema.js';
import type { LedgerEntry } from './types.js';

/** Group commit: chained entries wait here until one transaction writes their whole batch. */
export type Writer = {
  /** Queues an entry and its body; resolves with the entry once its batch is committed. */
  push(entry: LedgerEntry, body: string): Promise<LedgerEntry>;
  /** Commits the pending batch now, synchronously. */
  commit(): void;
  /** Drops the scheduled tick (on close). */
  stop(): void;
};

/** Entries chained but not yet committed; `done` settles when their transaction does. */
type Batch = {
  readonly entries: LedgerEntry[];
  readonly bodies: string[];
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
};

/**
 * A batch commits when it reaches `batchSize` or on the next `setImmediate` tick, whichever comes
 * first. A failed commit rejects every promise of its batch and reports the error to `onFailure`.
 */
export function createWriter(
  db: DatabaseSync,
  file: string,
  batchSize: number,
  onFailure: (err: MeshwardenError) => void,
): Writer {
  const insert = db.prepare(INSERT_ENTRY);
  const begin = db.prepare('BEGIN IMMEDIATE');
  const end = db.prepare('COMMIT');
  let batch: Batch | undefined;
  let tick: NodeJS.Immediate | undefined;

  const commit = () => {
    const b = batch;
    if (b === undefined) return;
    batch = undefined;
    const { entries, bodies } = b;
    try {
      begin.run();
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        insert.run(
          e.partition,
          e.seq,
          e.kind,
          e.at,
          e.msgId ?? null,
          e.causationId ?? null,
          e.correlationId ?? null,
          e.subject ?? null,
          e.agent ?? null,
          bodies[i]!,
          e.prev,
          e.hash,
        );
      }
      end.run();
    } catch (err) {
      const error = ledgerError(
        'MW_LEDGER_IO',
        { file, action: `commit ${entries.length} entries`, cause: causeText(err) },
        { cause: err },
      );
      try {
        if (db.isTransaction) db.exec('ROLLBACK');
      } catch {
        // The ledger closes on this failure either way.
      }
      onFailure(error);
      b.reject(error);
      return;
    }
    b.resolve();
  };

  const onTick = () => {
    tick = undefined;
    commit();
  };

  const open = (): Batch => {
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    tick ??= setImmediate(onTick);
    return { entries: [], bodies: [], done, resolve, reject };
  };

  return {
    push(entry, body) {
      if (batch === undefined) batch = open();
      const b = batch;
      b.entries.push(entry);
      b.bodies.push(body);
      // One promise per batch; each append only chains onto it.
      const durable = b.done.then(() => entry);
      if (b.entries.length >= batchSize) commit();
      return durable;
    },
    commit,
    stop() {
      if (tick !== undefined) clearImmediate(tick);
      tick = undefined;
    },
  };
}
