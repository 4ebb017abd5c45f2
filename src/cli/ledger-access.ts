import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  isMeshwardenError,
  type Ledger,
  type LedgerMove,
  ledgerFile,
  openLedgerIn,
  type RecoveryProgress,
  sqliteFileOf,
} from '../runtime/index.js';
import { cliError } from './errors.js';
import type { Output } from './output.js';

/** Where a reading command finds the ledger: `--ledger` when given, else `ledger.db` in `--data`. */
export type LedgerPlace = {
  readonly data: string;
  readonly ledger?: string;
  /** Another way to the same answer, said when there is no ledger (`why --url`). */
  readonly orElse?: string;
};

/**
 * Opens an existing ledger, or explains that there is none: a SQLite file that is missing, a
 * PostgreSQL schema that holds no ledger (never created by a reader), a server that cannot be
 * reached. Its origin (what checkpoints sign) is the mesh name the runtime recorded in it; its
 * checkpoint key is `ledger.key` in the data directory.
 */
export async function openExistingLedger(at: LedgerPlace, out: Output): Promise<Ledger | undefined> {
  const dataDir = resolve(at.data);
  const location = at.ledger ?? ledgerFile(dataDir);
  const file = sqliteFileOf(location);
  if (typeof file === 'string' && !existsSync(file)) {
    // The advice follows the option that named the place: a --ledger file, or --data's ledger.db.
    const hint =
      at.ledger === undefined
        ? `run a mesh with --data ${dirname(location)} first, or pass the right --data`
        : `check the --ledger path, or run a mesh with --ledger ${location} first`;
    const orElse = at.orElse === undefined ? '' : `; ${at.orElse}`;
    out.fail(cliError('MW_CLI_NO_LEDGER', { file, hint: `${hint}${orElse}` }));
    return undefined;
  }
  const ledger = await openLedgerIn(dataDir, location, { create: false });
  if (isMeshwardenError(ledger)) {
    out.fail(ledger);
    return undefined;
  }
  return ledger;
}

/**
 * What `up` and `run` say on stderr when their open moves the ledger to a newer schema version,
 * whatever the log level: before (it may take seconds), and after, with the way back.
 */
export function sayLedgerMove(out: Output): (move: LedgerMove) => void {
  return (move) =>
    out.note(
      move.phase === 'moving'
        ? `moving the ledger from schema version ${move.from} to ${move.to} (${move.entries.toLocaleString('en')} entries, about a second a million) …`
        : `the ledger moved from schema version ${move.from} to ${move.to}: older versions of Meshwarden now refuse it; to go back, restore a copy of the data directory made before this start (docs/ledger.md, "Schema versions")`,
    );
}

/** Milliseconds between two progress lines of a long read of the ledger. */
const PROGRESS_EVERY_MS = 2_000;

/**
 * A long read's progress as lines on stderr, at most one every two seconds, none for a read that
 * ends sooner: `verified 2,031,616 of 10,000,000 entries (20 %) …`. `total` is what the ledger held
 * when the read began (entries appended meanwhile are read too).
 */
export function sayProgress(
  out: Pick<Output, 'note'>,
  verb: string,
  total: number,
  clock: () => number = () => performance.now(),
): (done: number) => void {
  let next = clock() + PROGRESS_EVERY_MS;
  return (done) => {
    const now = clock();
    if (now < next) return;
    next = now + PROGRESS_EVERY_MS;
    // A live ledger grows while it is read: what was read may pass what it held at the start.
    const of = Math.max(total, done);
    const share = of > 0 ? ` (${Math.floor((done / of) * 100)} %)` : '';
    out.note(`${verb} ${done.toLocaleString('en')} of ${of.toLocaleString('en')} entries${share} …`);
  };
}

/** A ledger at least this large is announced before `up` and `run` read it to recover. */
const ANNOUNCED_RECOVERY = 100_000;

/**
 * What `up` and `run` say while their open rebuilds the mesh's state from a large ledger: that it
 * does, then its progress as `sayProgress` says it.
 */
export function sayRecoveryProgress(out: Pick<Output, 'note'>): RecoveryProgress {
  let progress: ((read: number) => void) | undefined;
  return ({ read, total }) => {
    if (progress === undefined) {
      if (total >= ANNOUNCED_RECOVERY)
        out.note(`recovering the mesh's state from the ledger (${total.toLocaleString('en')} entries) …`);
      progress = sayProgress(out, 'read', total);
    }
    progress(read);
  };
}
