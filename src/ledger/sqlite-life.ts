import type { DatabaseSync } from 'node:sqlite';
import type { MeshwardenError } from '../envelope/index.js';
import { ledgerError } from './errors.js';
import type { Writer } from './writer.js';

/** Whether the SQLite ledger is open, and its one shutdown: on close, or on its first failure. */
export type LedgerLife = {
  readonly open: boolean;
  /** The failure that closed the ledger, if one did. */
  readonly failure: MeshwardenError | undefined;
  /** MW_LEDGER_CLOSED, caused by the failure that closed the ledger if one did. */
  closedError(): MeshwardenError;
  /**
   * Stops intake, lets the worker commit what it was sent and close its connection (blocking, as a
   * query does), then closes the reading connection. A failure lands here too, once.
   */
  shutdown(err: MeshwardenError | undefined): void;
  /** Shuts down without a failure. Idempotent. */
  close(): Promise<void>;
  readonly closed: Promise<void | Error>;
};

export function createLedgerLife(deps: {
  /** The reading connection. */
  readonly db: Pick<DatabaseSync, 'close'>;
  readonly writer: Pick<Writer, 'close'>;
}): LedgerLife {
  const { db, writer } = deps;
  let open = true;
  let failure: MeshwardenError | undefined;
  let resolveClosed!: (value: void | Error) => void;
  const closed = new Promise<void | Error>((resolve) => {
    resolveClosed = resolve;
  });

  const shutdown = (err: MeshwardenError | undefined) => {
    failure ??= err;
    if (!open) return;
    open = false;
    writer.close();
    try {
      db.close();
    } catch {
      // After a failed write closing may fail too; the first error is the one reported.
    }
    resolveClosed(failure);
  };

  return {
    get open() {
      return open;
    },
    get failure() {
      return failure;
    },
    closedError: () => ledgerError('MW_LEDGER_CLOSED', {}, failure === undefined ? {} : { cause: failure }),
    shutdown,
    close: () => {
      shutdown(undefined);
      return Promise.resolve();
    },
    closed,
  };
}
