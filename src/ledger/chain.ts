import { isMeshwardenError, type MeshwardenError } from '../envelope/index.js';
import { causeText, ledgerError } from './errors.js';
import { entryBody } from './hash.js';
import type { LedgerEntry, LedgerRecord, PartitionHead } from './types.js';

/**
 * Assigns seq and builds the canonical body synchronously, in call order, one chain per partition.
 * `prev` and `hash` are left empty: the commit worker hashes the chain, and the committer fills them
 * in when it reports the entry durable (see committer.ts), before `append` resolves.
 */
export type Chainer = {
  /** The entry and its canonical body, or why the record cannot be chained (the chain is unchanged). */
  one(record: LedgerRecord, partition: number): { entry: LedgerEntry; body: string } | MeshwardenError;
  /** All records chained one after the other, or none of them if any cannot be. */
  group(
    records: readonly LedgerRecord[],
    partition: number,
  ): { entries: LedgerEntry[]; bodies: string[] } | MeshwardenError;
  /** Number of entries, all partitions. */
  count(): number;
};

/** `heads`: each partition's last seq, as read at open; the chainer owns (and updates) the map. */
export function createChainer(heads: Map<number, { seq: number }>): Chainer {
  const headOf = (partition: number): { seq: number } | MeshwardenError => {
    const head = heads.get(partition);
    if (head !== undefined) return head;
    if (!Number.isSafeInteger(partition) || partition < 0) {
      const problem = `partition ${partition} is not a non-negative integer`;
      return ledgerError('MW_LEDGER_RECORD', { problem });
    }
    const fresh = { seq: 0 };
    heads.set(partition, fresh);
    return fresh;
  };

  /** The entry at `seq`, unhashed; throws a TypeError when the record has no canonical form. */
  const link = (record: LedgerRecord, partition: number, seq: number) => {
    const body = entryBody(partition, seq, record);
    const entry: LedgerEntry = { ...record, partition, seq, prev: '', hash: '' };
    return { entry, body };
  };

  const recordError = (err: unknown) =>
    ledgerError('MW_LEDGER_RECORD', { problem: causeText(err) }, { cause: err });

  return {
    one(record, partition) {
      const head = headOf(partition);
      if (isMeshwardenError(head)) return head;
      try {
        const linked = link(record, partition, head.seq + 1);
        head.seq = linked.entry.seq;
        return linked;
      } catch (err) {
        return recordError(err);
      }
    },
    group(records, partition) {
      const head = headOf(partition);
      if (isMeshwardenError(head)) return head;
      const entries: LedgerEntry[] = [];
      const bodies: string[] = [];
      let { seq } = head;
      try {
        for (const record of records) {
          const linked = link(record, partition, ++seq);
          entries.push(linked.entry);
          bodies.push(linked.body);
        }
      } catch (err) {
        return recordError(err);
      }
      head.seq = seq;
      return { entries, bodies };
    },
    count() {
      let n = 0;
      for (const h of heads.values()) n += h.seq;
      return n;
    },
  };
}

/** Heads by partition as the ports give them: the non-empty partitions, in order. */
export function partitionHeads(
  heads: ReadonlyMap<number, { readonly seq: number; readonly hash: string }>,
): PartitionHead[] {
  return [...heads]
    .filter(([, h]) => h.seq > 0)
    .sort(([a], [b]) => a - b)
    .map(([partition, h]) => ({ partition, size: h.seq, head: h.hash }));
}
