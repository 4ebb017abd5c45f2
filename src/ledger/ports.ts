import type { MeshwardenError } from '../envelope/index.js';
import type {
  Checkpoint,
  LedgerEntry,
  LedgerRecord,
  PartitionHead,
  StoredRow,
  VerifyResult,
} from './types.js';

// The ledger's ports: what the runtime, the server and the CLI code against. Adapters implement
// them side by side (sqlite.ts, postgres.ts), are chosen by one function
// (location.ts), and prove themselves with one suite (conformance.ts). Nothing here names an engine.

/** How far a commit is forced to the disk: 'full' survives a power loss, 'normal' a process crash. */
export type Durability = 'normal' | 'full';

export type ScanOptions = {
  readonly partition?: number;
  /** Start after this seq (within `partition`). */
  readonly afterSeq?: number;
  readonly kinds?: readonly string[];
};

export type QueryLimit = { readonly limit?: number };

/**
 * Appends to the hash-chained log: one chain per partition, each entry's seq assigned at once, in
 * call order (the writer owns the heads); its prev and hash are known once it is durable (an adapter
 * may hash off the calling thread). Durability is group-committed and awaited.
 */
export type LedgerWriter = {
  readonly durability: Durability;
  /**
   * Chains the record (seq assigned synchronously, in call order; a record with no canonical form is
   * refused at once) and resolves with the entry, prev and hash filled in, when the group-committed
   * batch holding it is durable. Write-ahead callers await this before acting.
   */
  append(record: LedgerRecord, partition?: number): Promise<LedgerEntry>;
  /**
   * Chains the records one after the other, like `append` each, and commits them in one transaction:
   * after a crash the ledger holds all of them or none. Resolves when that transaction is durable.
   * `accepted`, when given, is called synchronously, before appendAll returns, once the records are
   * chained and on their way to the disk, and never for records refused at once (no canonical form, a
   * closed ledger): a caller that keeps state beside the ledger moves it only for what was accepted.
   */
  appendAll(
    records: readonly LedgerRecord[],
    partition?: number,
    accepted?: () => void,
  ): Promise<LedgerEntry[]>;
  /** Resolves when everything appended so far is durable; rejects with the error that closed the ledger. */
  flush(): Promise<void>;
  /**
   * The writer's own view, without a read: each non-empty partition's size and head hash as read at
   * open, adopted, or as this writer last committed it (after `flush()`, every append before it). A
   * fenced partition is left out until it is adopted again. Another writer's later commits do not
   * show here; the reader port and `checkpoint()` read the store.
   */
  heads(): readonly PartitionHead[];
  /**
   * (Re)takes a partition: once everything appended to it so far is committed or fenced, reads its
   * head as stored, continues its chain from there, and lifts a fence on it. Resolves with that head
   * (size 0 and GENESIS for an empty chain). Appends to the partition before it resolves are refused
   * with MW_LEDGER_ADOPTING. An owner calls it when it takes a partition over, and after a fence.
   */
  adopt(partition: number): Promise<PartitionHead>;
  /**
   * Resolves with the MW_LEDGER_FENCED error once this writer is fenced on `partition` (at once if it
   * is now): its pending and later appends to it fail with that error until `adopt(partition)`. The
   * shell stops deciding for the partition. Never rejects; pending while the partition is writable.
   */
  fenced(partition: number): Promise<MeshwardenError>;
  /**
   * Signs the heads of every partition as stored, once this writer's appends are durable, stores
   * the checkpoint and returns it. Rejects with MW_LEDGER_FENCED (and fences the partition) when a
   * partition this writer holds has moved on without it in the store.
   */
  checkpoint(): Promise<Checkpoint>;
  /** Commits what was appended and releases the store. Idempotent. */
  close(): Promise<void>;
  /** Resolves once closed: with the error that closed it (a failed commit), or undefined. */
  readonly closed: Promise<void | Error>;
  [Symbol.asyncDispose](): Promise<void>;
};

/**
 * Reads the log. Every read sees every append made before it was called (read-your-writes: it waits
 * for the writer's flush, never blocking the thread). After close every read rejects with
 * MW_LEDGER_CLOSED.
 */
export type LedgerReader = {
  /** Number of entries, all partitions. */
  count(): Promise<number>;
  /** Entries naming a message id, in append order (the first is its decision). */
  byMessage(msgId: string): Promise<LedgerEntry[]>;
  /**
   * The first entry of each of these message ids that the ledger holds (a message's decision), in
   * one read: what a batch's duplicate-id checks ask. Ids without an entry are left out.
   */
  firstOfEach(msgIds: readonly string[]): Promise<Map<string, LedgerEntry>>;
  /** Entries whose causation is `msgId`: its direct consequences. */
  byCausation(msgId: string): Promise<LedgerEntry[]>;
  /** The most recent `limit` entries about a subject, oldest first. */
  bySubject(subject: string, opts?: QueryLimit): Promise<LedgerEntry[]>;
  /** The most recent `limit` entries of an agent (`name@version`), oldest first. */
  byAgent(agent: string, opts?: QueryLimit): Promise<LedgerEntry[]>;
  /**
   * The most recent `limit` entries of every actor whose name starts with `prefix` (such as
   * `pilot:`), oldest first. With several partitions, "most recent" goes by each entry's time.
   */
  byAgentPrefix(prefix: string, opts?: QueryLimit): Promise<LedgerEntry[]>;
  /** The first entry of each message from the root down to `msgId` (walks causation back). */
  lineage(msgId: string): Promise<LedgerEntry[]>;
  /** The first entry of every message caused, directly or not, by `msgId`, breadth first. */
  impact(msgId: string): Promise<LedgerEntry[]>;
  /** Entries in (partition, seq) order; releases what it holds on `break`. */
  scan(opts?: ScanOptions): AsyncIterable<LedgerEntry>;
  /**
   * The seq of the newest entry the store holds in `partition` (0 when it holds none), whoever wrote
   * it: one index seek, not a read of the chain.
   */
  newestSeq(partition: number): Promise<number>;
  /**
   * Each non-empty partition's size and head hash as stored now, every writer's commits included
   * (one index seek a partition): what a node of a cluster shows as the mesh's ledger, where the
   * writer's `heads()` knows only its own partitions.
   */
  storedHeads(): Promise<PartitionHead[]>;
  /** Stored checkpoints, oldest first; rejects with MW_LEDGER_CHECKPOINT when one does not parse. */
  checkpoints(): Promise<Checkpoint[]>;
  /** Every row column for column, in (partition, seq) order: what `verifyRows` checks. */
  storedRows(): AsyncIterable<StoredRow>;
};

/**
 * A partition's rebuilt state as of one entry of its chain, kept beside the chain so that a node
 * taking the partition over folds only the entries after it. A cache, never the truth: the ledger
 * stores and returns it without reading `body`, and whoever reads it checks that the chain still
 * holds entry `seq` with `hash` (and that `body` has `digest`) before trusting it.
 */
export type SnapshotRecord = {
  readonly partition: number;
  /** The last entry the snapshot covers, and that entry's hash. */
  readonly seq: number;
  readonly hash: string;
  /** What the body is, as its writer names it (a reader ignores a format it does not know). */
  readonly format: string;
  /** The state, as text; opaque to the ledger. */
  readonly body: string;
};

/** A stored snapshot without its body: what choosing one needs. */
export type SnapshotHead = Omit<SnapshotRecord, 'body'> & {
  /** `sha256:<hex>` of the body as it was stored, computed by the ledger. */
  readonly digest: string;
  /** The body's size in bytes. */
  readonly bytes: number;
};

/**
 * The snapshot port: both adapters keep snapshots in a table of their own beside the entries (never
 * hashed into a chain, never verified by `verify()`). Writes need no partition ownership: a stale
 * snapshot is harmless, because a reader checks it against the chain.
 */
export type PartitionSnapshots = {
  /**
   * Stores a snapshot (replacing one at the same partition and seq) and drops the partition's older
   * ones beyond the `keep` newest (default 2). Resolves once stored.
   */
  putSnapshot(snapshot: SnapshotRecord, opts?: { readonly keep?: number }): Promise<SnapshotHead>;
  /** The partition's stored snapshots, newest (highest seq) first. */
  snapshots(partition: number): Promise<SnapshotHead[]>;
  /** The body of one stored snapshot, or undefined when it is gone. */
  snapshotBody(partition: number, seq: number): Promise<string | undefined>;
};

export type VerifyOptions = {
  readonly checkpoints?: readonly Checkpoint[];
  readonly onProgress?: (verified: number) => void;
};

/** Both ports over one store, plus verification: what a shell that owns the ledger holds. */
export type Ledger = LedgerWriter &
  LedgerReader &
  PartitionSnapshots & {
    /**
     * Recomputes every chain and checks it against the stored and the given checkpoints.
     * `onProgress` is told how many entries are verified so far, every `VERIFY_PROGRESS_EVERY` of them.
     */
    verify(opts?: VerifyOptions): Promise<VerifyResult>;
  };

/** Number of entries the heads cover: the writer's own count, without a read. */
export function sizeOf(heads: readonly PartitionHead[]): number {
  let n = 0;
  for (const h of heads) n += h.size;
  return n;
}

/**
 * `fenced()` of an adapter whose fence closes the whole ledger (SQLite's file has one writer): the
 * closing error when it was a fence, else never.
 */
export function fenceOnClose(closed: Promise<void | Error>): Promise<MeshwardenError> {
  return closed.then((err) =>
    err !== undefined && (err as MeshwardenError).code === 'MW_LEDGER_FENCED'
      ? (err as MeshwardenError)
      : new Promise<MeshwardenError>(() => {}),
  );
}
