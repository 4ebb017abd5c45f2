import { dirname, join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { canonicalize, isMeshwardenError } from '../envelope/index.js';
import { createChainer, partitionHeads } from './chain.js';
import { signCheckpoint } from './checkpoint.js';
import { startCommitter } from './committer.js';
import { causeText, ledgerError } from './errors.js';
import { GENESIS } from './hash.js';
import { loadSigningKey, type SigningKey } from './keyfile.js';
import { tightenModes } from './modes.js';
import { fenceOnClose, type Ledger } from './ports.js';
import { prepareQueries } from './queries.js';
import { type Durability, type Head, openDatabase, readHeads, type SchemaUpgrade } from './schema.js';
import { createLedgerLife } from './sqlite-life.js';
import { createSqliteReader, readsReady, type SqliteReadDeps } from './sqlite-reader.js';
import { sqliteSnapshots } from './sqlite-snapshots.js';
import { SUBJECT_FILL_EVERY } from './subject-lookup.js';
import type { Checkpoint, LedgerEntry, LedgerRecord, VerifyResult } from './types.js';
import { verifyLedger } from './verify.js';
import { createWriter } from './writer.js';

export type LedgerOptions = {
  /** The SQLite file; created with its schema when missing. */
  readonly file: string;
  /**
   * Names this ledger in its checkpoints (the mesh name), and is recorded in the file. Readers that
   * do not know it (the CLI's audit commands) leave it out and get the recorded one.
   */
  readonly origin?: string;
  /** Ed25519 checkpoint key (PEM PKCS8); default `<dir of file>/ledger.key`, created 0600 when missing. */
  readonly keyFile?: string;
  /**
   * Entries per group-commit transaction at most (an `appendAll` group is never split); default 4096.
   * Entries go to the commit worker in batches of at most 1024 of them (fewer when `batchSize` is
   * smaller), and batches that queued up behind a running transaction are merged up to this.
   */
  readonly batchSize?: number;
  /** 'full' (default) survives an OS crash or power loss too; 'normal' only a process crash. */
  readonly durability?: Durability;
  /**
   * Entries committed, at most, between two fills of the lookup by subject (default 131,072): more
   * writes it less often, and leaves more entries for a lookup to find through the tail's index.
   */
  readonly subjectFillEvery?: number;
  /**
   * Whether this open may move an older file to this schema version (default true: the ledger's
   * writer does); readers pass false and read an older file as it is (docs/ledger.md, "Schema
   * versions").
   */
  readonly upgrade?: boolean;
  /** Told when this open begins to move the file from an older schema version (it may take seconds). */
  readonly onUpgradeStart?: (from: string, to: string, entries: number) => void;
  /** Told when this open moved the file from an older schema version. */
  readonly onUpgrade?: (from: string, to: string) => void;
};

/**
 * Entries per transaction at most by default. Each commit rewrites every index page it touched: a
 * worker that falls behind catches up by merging the batches that queued meanwhile into bigger
 * transactions (measured, with the subject index of the time: 4096 entries a transaction cost the
 * worker about a quarter less per entry than 512).
 */
const MAX_TRANSACTION = 4096;
/** Entries per batch handed to the worker at most, so that it can start on them while more are made. */
const MAX_HANDOFF = 1024;

/** `n` when it is a whole number of at least 1, else `fallback` (an option left out or out of range). */
function positiveOr(n: number | undefined, fallback: number): number {
  return n !== undefined && Number.isInteger(n) && n >= 1 ? n : fallback;
}

/** Stores the given origin, or reads the stored one (`meshwarden` when none was ever given). */
function recordOrigin(db: DatabaseSync, origin: string | undefined): string {
  if (origin !== undefined) {
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('origin', ?)").run(origin);
    return origin;
  }
  const row = db.prepare("SELECT value FROM meta WHERE key = 'origin'").get() as
    | { value?: string }
    | undefined;
  return row?.value ?? 'meshwarden';
}

/**
 * The SQLite adapter of the ledger ports: opens the file, reading each partition's head so appends
 * continue the chains. Entries are numbered and their bodies built here, on the calling thread, in
 * call order; a worker thread hashes the chains and commits them (see committer.ts). Shells choose
 * it through `openLedgerAt` (location.ts). Its reads are in sqlite-reader.ts, its shutdown in
 * sqlite-life.ts.
 */
export function openLedger(opts: LedgerOptions): Ledger {
  const { file } = opts;
  const durability = opts.durability ?? 'full';
  const keyFile = opts.keyFile ?? join(dirname(file), 'ledger.key');
  const upgrade = {
    allowed: opts.upgrade !== false,
    ...(opts.onUpgrade ? { told: opts.onUpgrade } : {}),
    ...(opts.onUpgradeStart ? { starting: opts.onUpgradeStart } : {}),
  };
  const { db, origin, heads } = openStore(file, durability, keyFile, opts.origin, upgrade);
  const queries = prepareQueries(db, () => durableHeads().map((h) => h.partition));
  // The chainer numbers entries as they are appended; `heads` holds the durable heads, moved by the
  // committer as the worker reports each commit with its hashes.
  const chain = createChainer(new Map([...heads].map(([partition, h]) => [partition, { seq: h.seq }])));
  const batchSize = Math.max(1, opts.batchSize ?? MAX_TRANSACTION);
  let key: SigningKey | undefined;

  // A failed commit shuts the ledger down (`life` exists by then: the first append starts it).
  const start = () =>
    startCommitter({
      file,
      durability,
      maxEntries: batchSize,
      heads,
      subjectFillEvery: positiveOr(opts.subjectFillEvery, SUBJECT_FILL_EVERY),
      onFailure: life.shutdown,
    });
  const durableHeads = () => partitionHeads(heads);
  const writer = createWriter(start, Math.min(batchSize, MAX_HANDOFF));
  const life = createLedgerLife({ db, writer });
  const reads: SqliteReadDeps = { db, queries, chain, writer, life };
  const reader = createSqliteReader(reads);

  return {
    append(record: LedgerRecord, partition = 0): Promise<LedgerEntry> {
      if (!life.open) return Promise.reject(life.closedError());
      const chained = chain.one(record, partition);
      if (isMeshwardenError(chained)) return Promise.reject(chained);
      const { entry } = chained;
      return writer.push(entry, chained.body).then(() => entry);
    },
    appendAll(
      records: readonly LedgerRecord[],
      partition = 0,
      accepted?: () => void,
    ): Promise<LedgerEntry[]> {
      if (!life.open) return Promise.reject(life.closedError());
      const chained = chain.group(records, partition);
      if (isMeshwardenError(chained)) return Promise.reject(chained);
      const { entries } = chained;
      const durable =
        entries.length === 0
          ? Promise.resolve(entries)
          : writer.pushGroup(entries, chained.bodies).then(() => entries);
      accepted?.();
      return durable;
    },
    flush() {
      if (life.open) return writer.flush();
      return life.failure === undefined ? Promise.resolve() : Promise.reject(life.failure);
    },
    durability,
    heads: durableHeads,
    // One writer per file: its own head is the stored one, and a fence closes the whole ledger.
    async adopt(partition) {
      await readsReady(reads);
      const h = heads.get(partition);
      return { partition, size: h?.seq ?? 0, head: h?.hash ?? GENESIS };
    },
    fenced: () => fenceOnClose(life.closed),
    ...reader,
    ...sqliteSnapshots(db, file, () => readsReady(reads)),
    async verify(o = {}): Promise<VerifyResult> {
      try {
        return await verifyLedger(reader, o.checkpoints, o.onProgress);
      } catch (err) {
        if (isMeshwardenError(err)) throw err;
        throw ledgerError('MW_LEDGER_IO', { file, action: 'be read', cause: causeText(err) }, { cause: err });
      }
    },
    async checkpoint(): Promise<Checkpoint> {
      // The heads of everything appended so far, once the flush in `ready` made them durable.
      await readsReady(reads);
      const partitions = durableHeads();
      key ??= loadSigningKey(keyFile);
      const cp = signCheckpoint({ origin, at: Date.now(), partitions }, key.privateKey, key.publicKey);
      try {
        db.prepare('INSERT INTO checkpoints (body) VALUES (?)').run(canonicalize(cp));
      } catch (err) {
        throw ledgerError(
          'MW_LEDGER_IO',
          { file, action: 'store a checkpoint', cause: causeText(err) },
          { cause: err },
        );
      }
      return cp;
    },
    close: life.close,
    closed: life.closed,
    [Symbol.asyncDispose]: life.close,
  };
}

/**
 * Opens the file (created with its schema when missing) and reads what appends continue from: the
 * origin, stored or recorded, and each partition's durable head.
 */
function openStore(
  file: string,
  durability: Durability,
  keyFile: string,
  origin: string | undefined,
  upgrade: SchemaUpgrade,
): { db: DatabaseSync; origin: string; heads: Map<number, Head> } {
  const db = openDatabase(file, durability, upgrade);
  // The key is made 0600 when it is first needed; one left readable by others is tightened now.
  tightenModes([keyFile]);
  try {
    return { db, origin: recordOrigin(db, origin), heads: readHeads(db) };
  } catch (err) {
    db.close();
    throw ledgerError(
      'MW_LEDGER_IO',
      { file, action: 'read its heads', cause: causeText(err) },
      { cause: err },
    );
  }
}
