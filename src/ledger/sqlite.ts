import { dirname, join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { canonicalize, isMeshwardenError, type MeshwardenError } from '../envelope/index.js';
import { createChainer } from './chain.js';
import { signCheckpoint } from './checkpoint.js';
import { startCommitter } from './committer.js';
import { causeText, ledgerError } from './errors.js';
import { GENESIS } from './hash.js';
import { loadSigningKey, type SigningKey } from './keyfile.js';
import { tightenModes } from './modes.js';
import { fenceOnClose, type Ledger, type LedgerReader } from './ports.js';
import { prepareQueries, QUERY_CAP, type Queries } from './queries.js';
import { type Durability, type Head, openDatabase, readHeads } from './schema.js';
import { readCheckpoints, selectStoredRows } from './stored.js';
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
};

/**
 * Entries per transaction at most by default. Each commit rewrites every index page it touched, and
 * the subject index's are spread over the whole index: a worker that falls behind catches up by
 * merging the batches that queued meanwhile into bigger transactions (measured: 4096 entries a
 * transaction cost the worker about a quarter less per entry than 512).
 */
const MAX_TRANSACTION = 4096;
/** Entries per batch handed to the worker at most, so that it can start on them while more are made. */
const MAX_HANDOFF = 1024;

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
 * call order; a worker thread hashes the chains and commits them (see committer.ts). Shells choose it through `openLedgerAt` (location.ts).
 */
export function openLedger(opts: LedgerOptions): Ledger {
  const { file } = opts;
  const durability = opts.durability ?? 'full';
  const keyFile = opts.keyFile ?? join(dirname(file), 'ledger.key');
  const db = openDatabase(file, durability);
  // The key is made 0600 when it is first needed; one left readable by others is tightened now.
  tightenModes([keyFile]);
  let heads: Map<number, Head>;
  let origin: string;
  try {
    origin = recordOrigin(db, opts.origin);
    heads = readHeads(db);
  } catch (err) {
    db.close();
    throw ledgerError(
      'MW_LEDGER_IO',
      { file, action: 'read its heads', cause: causeText(err) },
      { cause: err },
    );
  }
  const queries = prepareQueries(db, () => durableHeads().map((h) => h.partition));
  // The chainer numbers entries as they are appended; `heads` holds the durable heads, moved by the
  // committer as the worker reports each commit with its hashes.
  const chain = createChainer(new Map([...heads].map(([partition, h]) => [partition, { seq: h.seq }])));
  const batchSize = Math.max(1, opts.batchSize ?? MAX_TRANSACTION);
  let key: SigningKey | undefined;
  let open = true;
  let failure: MeshwardenError | undefined;
  let resolveClosed!: (value: void | Error) => void;
  const closed = new Promise<void | Error>((resolve) => {
    resolveClosed = resolve;
  });

  /**
   * Stops intake, lets the worker commit what it was sent and close its connection (blocking, as a
   * query does), then closes the reading connection. A failure lands here too, once.
   */
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
  const start = () => startCommitter({ file, durability, maxEntries: batchSize, heads, onFailure: shutdown });
  const durableHeads = () =>
    [...heads]
      .filter(([, h]) => h.seq > 0)
      .sort(([a], [b]) => a - b)
      .map(([partition, h]) => ({ partition, size: h.seq, head: h.hash }));
  const writer = createWriter(start, Math.min(batchSize, MAX_HANDOFF));
  const closedError = () =>
    ledgerError('MW_LEDGER_CLOSED', {}, failure === undefined ? {} : { cause: failure });

  /**
   * Reads see every append made before them: they await the writer's flush (the worker reports each
   * commit through its port, so nothing blocks the thread), then query the reading connection.
   */
  const ready = async (): Promise<Queries> => {
    if (open) {
      try {
        await writer.flush();
      } catch {
        // A failed commit has closed the ledger by now; the check below says so.
      }
    }
    if (!open) throw closedError();
    return queries;
  };

  /** Yields rows while the ledger is open; a close during the scan ends it with MW_LEDGER_CLOSED. */
  async function* whileOpen<T>(rows: () => Iterator<T>): AsyncGenerator<T, void, undefined> {
    await ready();
    const it = rows();
    try {
      for (;;) {
        if (!open) throw closedError();
        const r = it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      // A consumer's `break` lands here: ending the statement releases its read snapshot. Closing
      // the database finalized it already.
      if (open) it.return?.();
    }
  }

  const close = (): Promise<void> => {
    shutdown(undefined);
    return Promise.resolve();
  };

  const reader: LedgerReader = {
    count: async () => {
      await ready();
      return chain.count();
    },
    byMessage: async (msgId) => (await ready()).byMessage(msgId),
    byCausation: async (msgId) => (await ready()).byCausation(msgId),
    bySubject: async (subject, o) => (await ready()).bySubject(subject, o?.limit ?? QUERY_CAP),
    byAgent: async (agent, o) => (await ready()).byAgent(agent, o?.limit ?? QUERY_CAP),
    byAgentPrefix: async (prefix, o) => (await ready()).byAgentPrefix(prefix, o?.limit ?? QUERY_CAP),
    lineage: async (msgId) => (await ready()).lineage(msgId),
    impact: async (msgId) => (await ready()).impact(msgId),
    scan: (o = {}) => whileOpen(() => queries.scan(o)),
    async checkpoints() {
      await ready();
      const stored = readCheckpoints(db);
      if (isMeshwardenError(stored)) throw stored;
      return stored;
    },
    storedRows: () => whileOpen(() => selectStoredRows(db)),
  };

  return {
    append(record: LedgerRecord, partition = 0): Promise<LedgerEntry> {
      if (!open) return Promise.reject(closedError());
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
      if (!open) return Promise.reject(closedError());
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
      if (open) return writer.flush();
      return failure === undefined ? Promise.resolve() : Promise.reject(failure);
    },
    durability,
    heads: durableHeads,
    // One writer per file: its own head is the stored one, and a fence closes the whole ledger.
    async adopt(partition) {
      await ready();
      const h = heads.get(partition);
      return { partition, size: h?.seq ?? 0, head: h?.hash ?? GENESIS };
    },
    fenced: () => fenceOnClose(closed),
    ...reader,
    async verify(o = {}): Promise<VerifyResult> {
      try {
        return await verifyLedger(reader, o.checkpoints);
      } catch (err) {
        if (isMeshwardenError(err)) throw err;
        throw ledgerError('MW_LEDGER_IO', { file, action: 'be read', cause: causeText(err) }, { cause: err });
      }
    },
    async checkpoint(): Promise<Checkpoint> {
      // The heads of everything appended so far, once the flush in `ready` made them durable.
      await ready();
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
    close,
    closed,
    [Symbol.asyncDispose]: close,
  };
}
