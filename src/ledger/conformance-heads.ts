// The reader's heads as stored (conformance.ts): what every writer committed, read back. For tests only.
import { describe, expect, it } from 'vitest';
import { conformanceRecord as rec } from './conformance.js';
import type { OpenedStore } from './conformance-verify.js';

export function describeStoredHeads(opened: OpenedStore): void {
  describe('heads as stored', () => {
    it("reads a partition's newest seq as stored, another writer's included, and 0 when empty", async () => {
      const { store, ledger } = await opened();
      await using _ = ledger;
      const pending = ledger.appendAll([rec('a1'), rec('a2')]);
      expect(await ledger.newestSeq(0)).toBe(2);
      await pending;
      // A partition this writer never held: what another writer stored there.
      await using other = await store.open();
      await other.appendAll([rec('b1'), rec('b2'), rec('b3')], 2);
      expect(ledger.heads().map((h) => h.partition)).toEqual([0]);
      expect(await ledger.newestSeq(2)).toBe(3);
      expect(await ledger.newestSeq(1)).toBe(0);
    });

    it("reads every partition's head as stored, another writer's included, in order", async () => {
      const { store, ledger } = await opened();
      await using _ = ledger;
      expect(await ledger.storedHeads()).toEqual([]);
      await ledger.appendAll([rec('a1'), rec('a2')]);
      await using other = await store.open();
      const last = (await other.appendAll([rec('b1'), rec('b2'), rec('b3')], 2)).at(-1)!;
      // The writer's own view lacks the other writer's partition; the stored one has it.
      expect(ledger.heads().map((h) => h.partition)).toEqual([0]);
      expect(await ledger.storedHeads()).toEqual([
        ledger.heads()[0],
        { partition: 2, size: 3, head: last.hash },
      ]);
    });
  });
}
