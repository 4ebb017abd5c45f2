import type { NatsConnection } from '@nats-io/transport-node';
import type { MeshwardenError } from '../envelope/index.js';

// The partition leases' public shapes (partition-leases.ts joins them).

/** Why a node stopped owning a partition. */
export type LeaseLossReason =
  /** Handed off to balance the mesh (a node joined); `onLose` was awaited before the release. */
  | 'rebalance'
  /** `close()`: handed off, `onLose` awaited before the release. */
  | 'closed'
  /** No renewal got through for the lease time minus the margin: stop at once, another may take it. */
  | 'expired'
  /** The broker says someone else holds it (this node's lease had lapsed). */
  | 'taken'
  /** The NATS connection closed for good. */
  | 'connection';

export type OwnedLease = {
  readonly partition: number;
  /** The fencing epoch: the lease's revision in the bucket when taken; a later owner's is greater. */
  readonly epoch: number;
  /** Wall-clock ms after which this node must no longer decide for the partition without a renewal. */
  readonly validUntil: number;
};

export type PartitionLeaseOptions = {
  /** NATS servers; ignored when `connection` is given. */
  readonly servers?: string | readonly string[];
  /** A connection to use (not closed by `close()`); its closing ends the leases. */
  readonly connection?: NatsConnection;
  readonly mesh: string;
  /** This node's id, unique in the mesh: letters, digits, `-` and `_`. */
  readonly node: string;
  /** The mesh's partition count, fixed for its life. */
  readonly partitions: number;
  /** How long the broker keeps a lease that is not renewed (default 5,000 ms; one value per mesh). */
  readonly leaseMs?: number;
  /** How often leases are renewed and the mesh looked at (default 500 ms). */
  readonly tickMs?: number;
  /** How long before the broker's expiry an owner stops by itself (default 1,500 ms). */
  readonly marginMs?: number;
  /**
   * Start deciding for a partition: the epoch fences the ledger writes of this ownership.
   * `handedOff`: true, its former holder released it within the last lease time (the broker keeps
   * the release that long); false, it lapsed, or none is remembered; undefined, not known.
   */
  readonly onAcquire: (
    partition: number,
    epoch: number,
    taken: { readonly handedOff: boolean | undefined },
  ) => void;
  /**
   * Stop deciding for a partition: stop its consumer and admit nothing more for it. For
   * `rebalance` and `closed` the returned promise (drain the in-flight commits) is awaited before
   * the lease is released; for the other reasons the lease is already gone, so stop at once. A
   * lease lost while its hand-off drains gets a second call (`expired`, `taken` or `connection`)
   * while the first is still pending: stop committing at once.
   */
  readonly onLose: (partition: number, reason: LeaseLossReason) => void | Promise<void>;
  /**
   * A node seen live is gone: `lapsed` when its membership ran out (it died or was cut off), not
   * when it left (closed, its membership released).
   */
  readonly onMemberGone?: (node: string, how: { readonly lapsed: boolean }) => void;
  /**
   * Joining found this node's id still live (its former process was killed or cut off less than a
   * lease ago, or another process runs under it): told once, as it waits up to `ms` for it to lapse.
   */
  readonly onWaitingForMembership?: (ms: number) => void;
  /** Failures that do not end the leases: a renewal that did not get through, a callback that threw. */
  readonly onError?: (error: MeshwardenError) => void;
};

export type PartitionLeases = {
  readonly node: string;
  /** The partitions this node may decide for now, with their epochs. */
  owned(): readonly OwnedLease[];
  /** The live nodes, as last seen, sorted. */
  members(): readonly string[];
  /** Partitions no live lease holds, as the last tick listed them (a take-over under way). */
  unowned(): number;
  /** Hands every partition off (`onLose(p, 'closed')` awaited), releases them for others at once. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  /** Resolves when closed: with `MW_RUNTIME_LEASE_CONNECTION` if the connection closed for good. */
  readonly closed: Promise<void | Error>;
};
