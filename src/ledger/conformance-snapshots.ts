// The snapshot port's part of the conformance suite (conformance.ts): for tests only.
import { describe, expect, it } from 'vitest';
import { sha256 } from '../envelope/index.js';
import type { OpenedStore } from './conformance-verify.js';
import type { SnapshotRecord } from './ports.js';

const snap = (partition: number, seq: number, body = `{"seq":${seq}}`): SnapshotRecord => ({
  partition,
  seq,
  hash: `sha256:${'ab'.repeat(32)}`,
  format: 'test.v1',
  body,
});

export function describeSnapshotPort(opened: OpenedStore): void {
  describe('snapshots', () => {
    it('scans a partition after a seq across pages, with kinds, up to its head (what a rebuild reads)', async () => {
      const { ledger } = await opened();
      const records = Array.from({ length: 4_500 }, (_, i) => ({
        kind: i % 3 === 0 ? 'decision' : 'delivered',
        at: 1_732_000_000_000 + i,
        msgId: `m${i}`,
        data: { i },
      }));
      for (let i = 0; i < records.length; i += 500) await ledger.appendAll(records.slice(i, i + 500), 1);
      await ledger.append(records[0]!, 0);
      const seqs = async (opts: Parameters<typeof ledger.scan>[0]) => {
        const out: number[] = [];
        for await (const e of ledger.scan(opts)) out.push(e.seq);
        return out;
      };
      const tail = await seqs({ partition: 1, afterSeq: 1_999 });
      expect(tail).toEqual(Array.from({ length: 2_501 }, (_, i) => 2_000 + i));
      const decisions = await seqs({ partition: 1, afterSeq: 10, kinds: ['decision'] });
      expect(decisions).toEqual(Array.from({ length: 1_496 }, (_, i) => 13 + 3 * i));
      expect(await seqs({ partition: 1, afterSeq: 4_500 })).toEqual([]);
      expect(await seqs({ partition: 2 })).toEqual([]);
      await ledger.close();
    });

    it('stores snapshots per partition, newest first, with the digest and size of their body', async () => {
      const { ledger } = await opened();
      expect(await ledger.snapshots(0)).toEqual([]);
      const head = await ledger.putSnapshot(snap(0, 5, '{"state":"ünïcode ✓"}'));
      expect(head).toEqual({
        partition: 0,
        seq: 5,
        hash: snap(0, 5).hash,
        format: 'test.v1',
        digest: sha256('{"state":"ünïcode ✓"}'),
        bytes: Buffer.byteLength('{"state":"ünïcode ✓"}'),
      });
      await ledger.putSnapshot(snap(0, 9));
      await ledger.putSnapshot(snap(1, 3));
      expect((await ledger.snapshots(0)).map((s) => s.seq)).toEqual([9, 5]);
      expect((await ledger.snapshots(1)).map((s) => s.seq)).toEqual([3]);
      expect(await ledger.snapshotBody(0, 5)).toBe('{"state":"ünïcode ✓"}');
      expect(await ledger.snapshotBody(0, 6)).toBeUndefined();
      await ledger.close();
    });

    it('keeps the newest two of a partition (or as many as asked), replaces one at the same seq, and survives a reopen', async () => {
      const { store, ledger } = await opened();
      for (const seq of [10, 20, 30]) await ledger.putSnapshot(snap(0, seq));
      expect((await ledger.snapshots(0)).map((s) => s.seq)).toEqual([30, 20]);
      await ledger.putSnapshot(snap(0, 30, '{"again":true}'), { keep: 1 });
      await ledger.close();
      const again = await store.open();
      expect((await again.snapshots(0)).map((s) => [s.seq, s.digest])).toEqual([
        [30, sha256('{"again":true}')],
      ]);
      expect(await again.snapshotBody(0, 30)).toBe('{"again":true}');
      await again.close();
      await expect(again.snapshots(0)).rejects.toMatchObject({ code: 'MW_LEDGER_CLOSED' });
    });
  });
}
