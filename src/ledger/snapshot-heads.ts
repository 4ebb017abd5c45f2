import { sha256 } from '../envelope/index.js';
import type { SnapshotHead, SnapshotRecord } from './ports.js';

/** Snapshots kept per partition unless the writer says otherwise: the newest, and one to fall back on. */
export const KEEP_SNAPSHOTS = 2;

/** What both adapters store beside a snapshot's body: the ledger computes its digest and size. */
export function snapshotHeadOf(s: SnapshotRecord): SnapshotHead {
  return {
    partition: s.partition,
    seq: s.seq,
    hash: s.hash,
    format: s.format,
    digest: sha256(s.body),
    bytes: Buffer.byteLength(s.body),
  };
}

/** How many of a partition's snapshots to keep: at least the one just stored. */
export function snapshotsKept(opts: { readonly keep?: number }): number {
  return Math.max(1, opts.keep ?? KEEP_SNAPSHOTS);
}
