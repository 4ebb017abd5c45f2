// The verification half of the conformance suite (conformance.ts): checkpoints, and a store tampered
// behind the adapter's back. For tests only, like conformance.ts.
import { describe, expect, it } from 'vitest';
import { verifyCheckpointSignature } from './checkpoint.js';
import { all, type ConformanceStore, conformanceRecord as rec, type Tampering } from './conformance.js';
import { chainHash, leafHash } from './hash.js';
import type { Ledger } from './ports.js';
import type { Checkpoint, StoredRow } from './types.js';

export type OpenedStore = () => Promise<{ store: ConformanceStore; ledger: Ledger }>;

/** Checkpoints and verification, with the store tampered behind the adapter's back. */
export function describeVerification(opened: OpenedStore): void {
  /** Six entries in partition 0, three in 1, a stored checkpoint of all nine; returns it and the store. */
  const signed = async () => {
    const { store, ledger } = await opened();
    for (let i = 1; i <= 6; i++) ledger.append(rec(`m${i}`, i > 1 ? `m${i - 1}` : undefined));
    for (let i = 7; i <= 9; i++) ledger.append(rec(`m${i}`), 1);
    const checkpoint = await ledger.checkpoint();
    await ledger.close();
    return { store, checkpoint };
  };
  const verifyAfter = async (
    store: ConformanceStore,
    changes: readonly Tampering[],
    checkpoints: readonly Checkpoint[] = [],
  ) => {
    for (const change of changes) await store.tamper(change);
    await using ledger = await store.open();
    return await ledger.verify({ checkpoints });
  };
  const bodyOf = async (store: ConformanceStore, seq: number) => {
    await using ledger = await store.open();
    const rows = await all(ledger.storedRows());
    return rows.find((r) => r.partition === 0 && r.seq === seq)!;
  };

  describe('checkpoints and verification', () => {
    it('signs the heads of every partition, once durable, and verifies them', async () => {
      const { store, ledger } = await opened();
      const first = await ledger.checkpoint();
      expect(first.partitions).toEqual([]);
      ledger.append(rec('a1'));
      ledger.append(rec('b1'), 2);
      const cp = await ledger.checkpoint();
      expect(cp.partitions).toEqual(ledger.heads());
      expect(cp.partitions.map((p) => [p.partition, p.size])).toEqual([
        [0, 1],
        [2, 1],
      ]);
      expect(typeof cp.origin).toBe('string');
      expect(verifyCheckpointSignature(cp)).toBe(true);
      expect(await ledger.checkpoints()).toEqual([first, cp]);
      expect(await ledger.verify()).toMatchObject({ ok: true, entries: 2, checkpoints: 2 });
      await ledger.close();
      await using again = await store.open();
      expect(await again.checkpoints()).toEqual([first, cp]);
    });

    it('passes an untouched ledger with its stored and an exported checkpoint, the same one counted once', async () => {
      const { store, checkpoint } = await signed();
      expect(await verifyAfter(store, [], [checkpoint])).toMatchObject({
        ok: true,
        entries: 9,
        checkpoints: 1,
        heads: checkpoint.partitions,
      });
    });

    const set = (seq: number, column: keyof StoredRow, value: string | number, partition = 0): Tampering => ({
      set: { partition, seq, column, value },
    });
    it.each<[string, (store: ConformanceStore) => Promise<Tampering[]>, Record<string, unknown>]>([
      [
        'a changed body',
        async (s) => [set(3, 'body', (await bodyOf(s, 3)).body.replace('deliver', 'delivex'))],
        { problem: 'hash-mismatch', seq: 3 },
      ],
      [
        'a changed hash',
        async () => [set(3, 'hash', `sha256:${'1'.repeat(64)}`)],
        { problem: 'hash-mismatch', seq: 3 },
      ],
      [
        'a changed prev',
        async (s) => [set(3, 'prev', (await bodyOf(s, 1)).hash)],
        { problem: 'prev-mismatch', seq: 3 },
      ],
      [
        'a changed subject column',
        async () => [set(4, 'subject', 'account:9')],
        { problem: 'column-mismatch', seq: 4 },
      ],
      [
        'a changed msg_id column',
        async () => [set(2, 'msg_id', 'm99')],
        { problem: 'column-mismatch', seq: 2 },
      ],
      [
        'a changed kind column',
        async () => [set(3, 'kind', 'forged')],
        { problem: 'column-mismatch', seq: 3 },
      ],
      ['a changed at column', async () => [set(5, 'at', 7)], { problem: 'column-mismatch', seq: 5 }],
      [
        'a deleted middle row',
        async () => [{ delete: { partition: 0, seq: 3 } }],
        { problem: 'sequence-gap', seq: 3 },
      ],
      [
        'a deleted first row',
        async () => [{ delete: { partition: 0, seq: 1 } }],
        { problem: 'sequence-gap', seq: 1 },
      ],
      [
        'a body that does not parse, with its hash recomputed',
        async (s) => [
          set(6, 'body', '{"not json'),
          set(6, 'hash', chainHash((await bodyOf(s, 6)).prev, leafHash('{"not json'))),
        ],
        { problem: 'malformed-row', seq: 6 },
      ],
      [
        'a cut tail after the stored checkpoint',
        async () => [{ delete: { partition: 0, seq: 6 } }],
        { problem: 'truncated', seq: 6 },
      ],
      [
        'a partition cut entirely',
        async () => [{ delete: { partition: 1 } }],
        { problem: 'truncated', seq: 3, partition: 1 },
      ],
      [
        'a forged stored checkpoint',
        async () => [
          {
            checkpoints: (cps) =>
              cps.map((cp) => ({
                ...cp,
                partitions: cp.partitions.map((p) => ({ ...p, size: p.size - 1 })),
              })),
          },
        ],
        { problem: 'bad-signature', seq: 0 },
      ],
    ])('detects %s', async (_, attack, expected) => {
      const { store } = await signed();
      const changes = await attack(store);
      expect(await verifyAfter(store, changes)).toMatchObject({ ok: false, partition: 0, ...expected });
    });

    it('catches a cut tail with an exported checkpoint after the stored ones are gone', async () => {
      const { store, checkpoint } = await signed();
      const cut: Tampering[] = [{ checkpoints: () => [] }, { delete: { partition: 0, seq: 6 } }];
      expect(await verifyAfter(store, cut)).toMatchObject({ ok: true });
      expect(await verifyAfter(store, [], [checkpoint])).toMatchObject({
        ok: false,
        problem: 'truncated',
        partition: 0,
        seq: 6,
      });
    });

    it('catches a rewritten tail (cut, then other entries appended) as a checkpoint mismatch', async () => {
      const { store, checkpoint } = await signed();
      await store.tamper({ checkpoints: () => [] });
      await store.tamper({ delete: { partition: 0, seq: 6 } });
      await store.tamper({ delete: { partition: 0, seq: 5 } });
      await using ledger = await store.open();
      await ledger.append({ ...rec('m5', 'm4'), data: { verdict: 'deny' } });
      await ledger.append(rec('m6', 'm5'));
      expect(await ledger.verify()).toMatchObject({ ok: true });
      expect(await ledger.verify({ checkpoints: [checkpoint] })).toMatchObject({
        ok: false,
        problem: 'checkpoint-mismatch',
        partition: 0,
        seq: 6,
        expected: checkpoint.partitions[0]!.head,
      });
    });

    it('rejects an exported checkpoint whose signature does not verify', async () => {
      const { store, checkpoint } = await signed();
      const forged = {
        ...checkpoint,
        partitions: [{ ...checkpoint.partitions[0]!, size: 4 }, checkpoint.partitions[1]!],
      };
      expect(await verifyAfter(store, [], [forged])).toMatchObject({ ok: false, problem: 'bad-signature' });
      const resigned = { ...checkpoint, signature: `${checkpoint.signature.slice(0, -4)}AAAA` };
      expect(await verifyAfter(store, [], [resigned])).toMatchObject({ ok: false, problem: 'bad-signature' });
    });
  });
}
