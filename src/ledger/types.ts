import type { JsonObject } from '../envelope/index.js';

/**
 * What the runtime appends. The ledger is generic over `kind`; the indexed fields are copied to
 * columns for queries and checked against the hashed body by `verify()`.
 */
export type LedgerRecord = {
  readonly kind: string;
  /** ms since epoch, passed in by the caller. */
  readonly at: number;
  readonly msgId?: string;
  readonly causationId?: string;
  readonly correlationId?: string;
  readonly subject?: string;
  /** `name@version` of the agent concerned. */
  readonly agent?: string;
  readonly data: JsonObject;
};

/** A record once chained: `hash = H(0x01 ‖ prev ‖ H(0x00 ‖ canonical(body)))` within its partition. */
export type LedgerEntry = LedgerRecord & {
  readonly partition: number;
  /** 1-based, gap-free within a partition. */
  readonly seq: number;
  readonly prev: string;
  readonly hash: string;
};

export type PartitionHead = { readonly partition: number; readonly size: number; readonly head: string };

/** C2SP-style checkpoint: origin, per-partition sizes and head hashes, signed with Ed25519. */
export type Checkpoint = {
  readonly origin: string;
  readonly at: number;
  readonly partitions: readonly PartitionHead[];
  /** base64url Ed25519 signature over the canonical checkpoint without `signature` and `publicKey`. */
  readonly signature: string;
  /** PEM SPKI public key that verifies `signature`. */
  readonly publicKey: string;
};

export type VerifyProblem =
  | 'hash-mismatch' // the stored hash is not the hash of the stored body and prev
  | 'prev-mismatch' // prev does not equal the previous entry's hash
  | 'column-mismatch' // an indexed column differs from the hashed body
  | 'sequence-gap' // a seq is missing (a row was deleted)
  | 'malformed-row' // a row cannot be parsed
  | 'truncated' // fewer entries than a checkpoint recorded
  | 'checkpoint-mismatch' // the entry at a checkpoint's size does not have its head hash
  | 'bad-signature'; // a checkpoint's signature does not verify

export type VerifyResult =
  | {
      readonly ok: true;
      readonly entries: number;
      readonly heads: readonly PartitionHead[];
      readonly checkpoints: number;
    }
  | {
      readonly ok: false;
      readonly entries: number;
      readonly problem: VerifyProblem;
      /** The first bad entry (partition, seq), or the checkpoint's size for truncation. */
      readonly partition: number;
      readonly seq: number;
      readonly expected?: string;
      readonly actual?: string;
      readonly detail: string;
    };

/**
 * One row as stored in the `entries` table, column for column. SQLite does not enforce column
 * types, so verification checks them too: a value of the wrong type is a malformed row.
 */
export type StoredRow = {
  readonly partition: number;
  readonly seq: number;
  readonly kind: string;
  readonly at: number;
  readonly msg_id: string | null;
  readonly causation_id: string | null;
  readonly correlation_id: string | null;
  readonly subject: string | null;
  readonly agent: string | null;
  readonly body: string;
  readonly prev: string;
  readonly hash: string;
};
