import { isMeshwardenError, type MeshwardenError } from '../envelope/index.js';
import { causeText, ledgerError } from './errors.js';
import { chainHash, entryBody, GENESIS, leafHash } from './hash.js';
import type { Head } from './schema.js';
import type { LedgerEntry, LedgerRecord, PartitionHead } from './types.js';

/** Assigns seq, prev and hash synchronously, in call order, one chain per partition. */
export type Chainer = {
  /** The entry and its canonical body, or why the record cannot be chained (the chain is unchanged). */
  one(record: LedgerRecord, partition: number): { entry: LedgerEntry; body: string } | MeshwardenError;
  /** All records chained one after the other, or none of them if any cannot be. */
  group(
    records: readonly LedgerRecord[],
    partition: number,
  ): { entries: LedgerEntry[]; bodies: string[] } | MeshwardenError;
  heads(): PartitionHead[];
  /** Number of entries, all partitions. */
  count(): number;
};

export function createChainer(heads: Map<number, Head>): Chainer {
  const headOf = (partition: number): Head | MeshwardenError => {
    const head = heads.get(partition);
    if (head !== undefined) return head;
    if (!Number.isSafeInteger(partition) || partition < 0) {
      const problem = `partition ${partition} is not a non-negative integer`;
      return ledgerError('MW_LEDGER_RECORD', { problem });
    }
    const fresh = { seq: 0, hash: GENESIS };
    heads.set(partition, fresh);
    return fresh;
  };

  /** The entry after (seq - 1, prev); throws a TypeError when the record has no canonical form. */
  const link = (record: LedgerRecord, partition: number, seq: number, prev: string) => {
    const body = entryBody(partition, seq, record);
    // Flattens, once, the rope that concatenation built (V8 converts a string to a number from flat
    // text): hashing and the copy to the commit worker would each walk it again. ~5% more hops/s.
    Number(body);
    const entry: LedgerEntry = { ...record, partition, seq, prev, hash: chainHash(prev, leafHash(body)) };
    return { entry, body };
  };

  const recordError = (err: unknown) =>
    ledgerError('MW_LEDGER_RECORD', { problem: causeText(err) }, { cause: err });

  return {
    one(record, partition) {
      const head = headOf(partition);
      if (isMeshwardenError(head)) return head;
      try {
        const linked = link(record, partition, head.seq + 1, head.hash);
        head.seq = linked.entry.seq;
        head.hash = linked.entry.hash;
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
      let { seq, hash } = head;
      try {
        for (const record of records) {
          const linked = link(record, partition, ++seq, hash);
          entries.push(linked.entry);
          bodies.push(linked.body);
          hash = linked.entry.hash;
        }
      } catch (err) {
        return recordError(err);
      }
      head.seq = seq;
      head.hash = hash;
      return { entries, bodies };
    },
    heads: () =>
      [...heads]
        .filter(([, h]) => h.seq > 0)
        .sort(([a], [b]) => a - b)
        .map(([partition, h]) => ({ partition, size: h.seq, head: h.hash })),
    count() {
      let n = 0;
      for (const h of heads.values()) n += h.seq;
      return n;
    },
  };
}
