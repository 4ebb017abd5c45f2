import { dirname, join } from 'node:path';
import { canonicalize, isMeshwardenError, type MeshwardenError } from '../envelope/index.js';
import { signCheckpoint } from './checkpoint.js';
import { causeText, ledgerError } from './errors.js';
import { chainHash, entryBody, GENESIS, leafHash } from './hash.js';
import { loadSigningKey, type SigningKey } from './keyfile.js';
import type { Ledger } from './ledger.js';
import { prepareQueries, QUERY_CAP, type Queries } from './queries.js';
import { type Durability, type Head, openDatabase, readHeads } from './schema.js';
import { readCheckpoints, selectStoredRows } from './stored.js';
import type { Checkpoint, LedgerEntry, LedgerRecord, PartitionHead, VerifyResult } from './types.js';
import { verifyChain } from './verify.js';
import { createWriter } from './writer.js';

export type LedgerOptions = {
  /** The SQLite file; created with its schema when missing. */
  readonly file: string;
  /** Names this ledger in its checkpoints (the mesh name). */
  readonly origin: string;
  /** Ed25519 checkpoint key (PEM PKCS8); default `<dir of file>/ledger.key`, created 0600 when missing. */
  readonly keyFile?: string;
  /** Entries per group-commit transaction at most; default 512. */
  readonly batchSize?: number;
  /** 'normal' (default) survives a process crash; 'full' also an OS crash or power loss. */
  readonly durability?: Durability;
};

/** Opens the SQLite ledger, reading each partition's head so appends continue the chains. */
export function openLedger(opts: LedgerOptions): Ledger {
  const { file, origin } = opts;
  const db = openDatabase(file, opts.durability ?? 'normal');
  let heads: Map<number, Head>;
  try {
    heads = readHeads(db);
  } catch (err) {
    db.close();
    throw ledgerError(
      'MW_LEDGER_IO',
      { file, action: 'read its heads', cause: causeText(err) },
      { cause: err },
    );
  }
  const queries = prepareQueries(db);
  let key: SigningKey | undefined;
  let open = true;
  let failure: MeshwardenError | undefined;
  let resolveClosed!: (value: void | Error) => void;
  const closed = new Promise<void | Error>((resolve) => {
    resolveClosed = resolve;
  });

  const shutdown = (err: MeshwardenError | undefined) => {
    if (!open) return;
    open = false;
    failure = err;
    writer.stop();
    try {
      db.close();
    } catch {
      // After a failed write closing may fail too; the first error is the one reported.
    }
    resolveClosed(err);
  };
  const writer = createWriter(db, file, Math.max(1, opts.batchSize ?? 512), shutdown);
  const closedError = () =>
    ledgerError('MW_LEDGER_CLOSED', {}, failure === undefined ? {} : { cause: failure });

  /** Reads see every append so far: commit what is pending first. */
  const sync = (): Queries => {
    if (open) writer.commit();
    if (!open) throw closedError();
    return queries;
  };

  const headOf = (partition: number): Head | undefined => {
    const head = heads.get(partition);
    if (head !== undefined || !Number.isSafeInteger(partition) || partition < 0) return head;
    const fresh = { seq: 0, hash: GENESIS };
    heads.set(partition, fresh);
    return fresh;
  };

  const listHeads = (): PartitionHead[] =>
    [...heads]
      .filter(([, h]) => h.seq > 0)
      .sort(([a], [b]) => a - b)
      .map(([partition, h]) => ({ partition, size: h.seq, head: h.hash }));

  const close = (): Promise<void> => {
    if (open) {
      writer.commit();
      shutdown(failure);
    }
    return Promise.resolve();
  };

  return {
    append(record: LedgerRecord, partition = 0): Promise<LedgerEntry> {
      if (!open) return Promise.reject(closedError());
      const head = headOf(partition);
      if (head === undefined) {
        const problem = `partition ${partition} is not a non-negative integer`;
        return Promise.reject(ledgerError('MW_LEDGER_RECORD', { problem }));
      }
      const seq = head.seq + 1;
      let body: string;
      try {
        body = entryBody(partition, seq, record);
      } catch (err) {
        return Promise.reject(ledgerError('MW_LEDGER_RECORD', { problem: causeText(err) }, { cause: err }));
      }
      const prev = head.hash;
      const hash = chainHash(prev, leafHash(body));
      head.seq = seq;
      head.hash = hash;
      return writer.push({ ...record, partition, seq, prev, hash }, body);
    },
    flush() {
      if (open) writer.commit();
      return failure === undefined ? Promise.resolve() : Promise.reject(failure);
    },
    heads: listHeads,
    count() {
      let n = 0;
      for (const h of heads.values()) n += h.seq;
      return n;
    },
    byMessage: (msgId) => sync().byMessage(msgId),
    byCausation: (msgId) => sync().byCausation(msgId),
    bySubject: (subject, o) => sync().bySubject(subject, o?.limit ?? QUERY_CAP),
    byAgent: (agent, o) => sync().byAgent(agent, o?.limit ?? QUERY_CAP),
    lineage: (msgId) => sync().lineage(msgId),
    impact: (msgId) => sync().impact(msgId),
    scan: (o = {}) => sync().scan(o),
    verify(o = {}): VerifyResult {
      sync();
      const stored = readCheckpoints(db);
      if (isMeshwardenError(stored)) {
        const detail = `a stored checkpoint cannot be read: ${stored.message}`;
        return { ok: false, entries: 0, problem: 'bad-signature', partition: 0, seq: 0, detail };
      }
      try {
        return verifyChain(selectStoredRows(db), [...stored, ...(o.checkpoints ?? [])]);
      } catch (err) {
        throw ledgerError('MW_LEDGER_IO', { file, action: 'be read', cause: causeText(err) }, { cause: err });
      }
    },
    async checkpoint(): Promise<Checkpoint> {
      sync();
      key ??= loadSigningKey(opts.keyFile ?? join(dirname(file), 'ledger.key'));
      const cp = signCheckpoint(
        { origin, at: Date.now(), partitions: listHeads() },
        key.privateKey,
        key.publicKey,
      );
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
    checkpoints() {
      sync();
      const stored = readCheckpoints(db);
      if (isMeshwardenError(stored)) throw stored;
      return stored;
    },
    close,
    closed,
    [Symbol.asyncDispose]: close,
  };
}
