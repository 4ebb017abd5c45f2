import type { Durability } from './schema.js';
import type { Checkpoint, LedgerEntry, LedgerRecord, PartitionHead, VerifyResult } from './types.js';

export type ScanOptions = {
  readonly partition?: number;
  /** Start after this seq (within `partition`). */
  readonly afterSeq?: number;
  readonly kinds?: readonly string[];
};

/** The durable, hash-chained log. One chain per partition; embedded mode uses partition 0. */
export type Ledger = {
  /** How far a commit is forced to the disk: 'full' survives a power loss, 'normal' a process crash. */
  readonly durability: Durability;
  /**
   * Chains the record at once (seq and hash assigned synchronously, in call order) and resolves when
   * the group-committed batch holding it is durable. Write-ahead callers await this before acting.
   */
  append(record: LedgerRecord, partition?: number): Promise<LedgerEntry>;
  /**
   * Chains the records one after the other, like `append` each, and commits them in one transaction:
   * after a crash the ledger holds all of them or none. Resolves when that transaction is durable.
   */
  appendAll(records: readonly LedgerRecord[], partition?: number): Promise<LedgerEntry[]>;
  /** Resolves when everything appended so far is durable; rejects with the error that closed the ledger. */
  flush(): Promise<void>;
  heads(): readonly PartitionHead[];
  /** Number of entries, all partitions. */
  count(): number;
  /** Entries naming a message id, in append order (the first is its decision). */
  byMessage(msgId: string): LedgerEntry[];
  /** Entries whose causation is `msgId`: its direct consequences. */
  byCausation(msgId: string): LedgerEntry[];
  bySubject(subject: string, opts?: { readonly limit?: number }): LedgerEntry[];
  byAgent(agent: string, opts?: { readonly limit?: number }): LedgerEntry[];
  /** Entries of every actor whose name starts with `prefix` (such as `pilot:`), in append order. */
  byAgentPrefix(prefix: string, opts?: { readonly limit?: number }): LedgerEntry[];
  /** The first entry of each message from the root down to `msgId` (walks causation back). */
  lineage(msgId: string): LedgerEntry[];
  /** The first entry of every message caused, directly or not, by `msgId`, breadth first. */
  impact(msgId: string): LedgerEntry[];
  /** Entries in (partition, seq) order; releases its statement on `break`. */
  scan(opts?: ScanOptions): IterableIterator<LedgerEntry>;
  /** Recomputes every chain and checks it against the stored and the given checkpoints. */
  verify(opts?: { readonly checkpoints?: readonly Checkpoint[] }): VerifyResult;
  /** Signs the current heads (after a flush), stores the checkpoint and returns it. */
  checkpoint(): Promise<Checkpoint>;
  /** Stored checkpoints, oldest first. */
  checkpoints(): Checkpoint[];
  close(): Promise<void>;
  readonly closed: Promise<void | Error>;
  [Symbol.asyncDispose](): Promise<void>;
};
