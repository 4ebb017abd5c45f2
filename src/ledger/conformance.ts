// The suite every ledger adapter must pass (STYLE.md "Ports and adapters", like abstract-level's
// suite): sqlite.conformance.test.ts runs it for SQLite, a PostgreSQL adapter will run it too. For
// tests only: it imports vitest, so the build leaves it out (tsconfig.build.json) and no module of
// the package imports it.
import { describe, expect, it } from 'vitest';
import { describeStoredHeads } from './conformance-heads.js';
import { describeSnapshotPort } from './conformance-snapshots.js';
import { describeVerification } from './conformance-verify.js';
import { chainHash, entryBody, GENESIS, leafHash } from './hash.js';
import type { Ledger } from './ports.js';
import type { Checkpoint, LedgerEntry, LedgerRecord, StoredRow } from './types.js';

/** A change an attacker with write access to the store makes, behind the adapter's back. */
export type Tampering =
  /** Sets one column of one stored row. */
  | {
      readonly set: {
        readonly partition: number;
        readonly seq: number;
        readonly column: keyof StoredRow;
        readonly value: string | number;
      };
    }
  /** Deletes one row, or (without `seq`) every row of the partition. */
  | { readonly delete: { readonly partition: number; readonly seq?: number } }
  /** Rewrites the stored checkpoints (all of them, oldest first). */
  | { readonly checkpoints: (stored: readonly Checkpoint[]) => Checkpoint[] };

/** One fresh, empty store of the adapter under test. */
export type ConformanceStore = {
  /** Opens the store (again: the same entries, chains and checkpoints as the last ledger left). */
  open(): Ledger | Promise<Ledger>;
  /** Changes the store while no ledger has it open; `verify()` must then find the change. */
  tamper(change: Tampering): void | Promise<void>;
};

const AT = 1_732_000_000_000;

/** A decision about `account:<n % 2>` by churn, caused by `causationId` when given. */
export function conformanceRecord(msgId: string, causationId?: string, extra: Partial<LedgerRecord> = {}) {
  const n = Number(msgId.replace(/\D/g, '')) || 0;
  const record: LedgerRecord = {
    kind: 'decision',
    at: AT + n,
    msgId,
    ...(causationId === undefined ? {} : { causationId }),
    correlationId: 'root',
    subject: `account:${n % 2}`,
    agent: 'churn@2.0.1',
    data: { verdict: 'deliver', amount: n * 12.5, note: 'ünïcode ✓' },
    ...extra,
  };
  return record;
}
const rec = conformanceRecord;

export async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const list: T[] = [];
  for await (const item of items) list.push(item);
  return list;
}

/** Each entry's hash is the chain link over its canonical body, and prev is the entry before it. */
function expectChained(entries: readonly LedgerEntry[]): void {
  let prev = GENESIS;
  entries.forEach((e, i) => {
    expect(e.seq).toBe(i + 1);
    expect(e.prev).toBe(prev);
    const { partition, seq, prev: _p, hash, ...record } = e;
    expect(hash).toBe(chainHash(prev, leafHash(entryBody(partition, seq, record))));
    prev = hash;
  });
}

/**
 * Registers the conformance tests of one adapter. `freshStore` makes a new, empty store each time
 * (and cleans it up after the test, as tempLedgerFiles does); every ledger a test opens it closes.
 */
export function describeLedgerConformance(
  name: string,
  freshStore: () => ConformanceStore | Promise<ConformanceStore>,
): void {
  const opened = async () => {
    const store = await freshStore();
    return { store, ledger: await store.open() };
  };

  describe(`ledger conformance: ${name}`, () => {
    describe('writer', () => {
      it('chains seq, prev and hash within a partition, in call order', async () => {
        const { ledger } = await opened();
        await using _ = ledger;
        const pending = [ledger.append(rec('m1')), ledger.append(rec('m2')), ledger.append(rec('m3'))];
        const entries = await Promise.all(pending);
        expectChained(entries);
        expect(entries.map((e) => e.partition)).toEqual([0, 0, 0]);
        expect(entries[1]).toMatchObject(rec('m2'));
      });

      it('keeps one chain per partition, each from the genesis value', async () => {
        const { ledger } = await opened();
        await using _ = ledger;
        const p0 = [await ledger.append(rec('a1')), await ledger.append(rec('a2'))];
        const p3 = [await ledger.append(rec('b1'), 3)];
        p0.push(await ledger.append(rec('a3'), 0));
        p3.push(await ledger.append(rec('b2'), 3), await ledger.append(rec('b3'), 3));
        expectChained(p0);
        expectChained(p3);
        expect(p3.map((e) => e.partition)).toEqual([3, 3, 3]);
        expect(ledger.heads()).toEqual([
          { partition: 0, size: 3, head: p0[2]!.hash },
          { partition: 3, size: 3, head: p3[2]!.hash },
        ]);
      });

      it('appends a group in order, after what came before, and none of it when a record is bad', async () => {
        const { ledger } = await opened();
        await using _ = ledger;
        const first = await ledger.append(rec('s1'), 2);
        const group = await ledger.appendAll([rec('g1'), rec('g2'), rec('g3')], 2);
        expect(group.map((e) => [e.partition, e.seq, e.msgId])).toEqual([
          [2, 2, 'g1'],
          [2, 3, 'g2'],
          [2, 4, 'g3'],
        ]);
        expectChained([first, ...group]);
        expect(await ledger.appendAll([])).toEqual([]);
        const bad = [rec('x1'), { ...rec('x2'), at: Number.NaN }];
        const accepted: string[] = [];
        await expect(ledger.appendAll(bad, 2, () => accepted.push('bad'))).rejects.toMatchObject({
          code: 'MW_LEDGER_RECORD',
        });
        const good = ledger.appendAll([rec('g4')], 2, () => accepted.push('good'));
        expect(accepted).toEqual(['good']); // told at once, never for a refused group
        expect((await good)[0]).toMatchObject({ seq: 5, msgId: 'g4' });
        await expect(ledger.append(rec('x3'), -1)).rejects.toMatchObject({ code: 'MW_LEDGER_RECORD' });
        const g4 = (await good)[0]!;
        expect(ledger.heads()).toEqual([{ partition: 2, size: 5, head: g4.hash }]);
        expect(await ledger.append(rec('s6'), 2)).toMatchObject({ seq: 6, prev: g4.hash });
        expect(await ledger.byMessage('x1')).toEqual([]);
      });

      it('has no heads when empty, and flush resolves', async () => {
        const { ledger } = await opened();
        await using _ = ledger;
        expect(ledger.heads()).toEqual([]);
        await expect(ledger.flush()).resolves.toBeUndefined();
        expect(await ledger.count()).toBe(0);
        expect(['full', 'normal']).toContain(ledger.durability);
      });

      it('continues every chain after a reopen', async () => {
        const { store, ledger } = await opened();
        await ledger.append(rec('a1'));
        const b1 = await ledger.append(rec('b1'), 3);
        const heads = ledger.heads();
        await ledger.close();
        expect(await ledger.closed).toBeUndefined();
        await using again = await store.open();
        expect(again.heads()).toEqual(heads);
        expect(await again.append(rec('b2'), 3)).toMatchObject({ partition: 3, seq: 2, prev: b1.hash });
        expect(await again.append(rec('a2'))).toMatchObject({ partition: 0, seq: 2, prev: heads[0]!.head });
        expect(await again.verify()).toMatchObject({ ok: true, entries: 4 });
      });

      it('rejects appends and reads after close with MW_LEDGER_CLOSED; close is idempotent', async () => {
        const { ledger } = await opened();
        const pending = ledger.append(rec('a1'));
        await ledger.close();
        await ledger.close();
        await expect(pending).resolves.toMatchObject({ seq: 1 });
        const closed = { code: 'MW_LEDGER_CLOSED' };
        await expect(ledger.append(rec('a2'))).rejects.toMatchObject(closed);
        await expect(ledger.appendAll([rec('a3')])).rejects.toMatchObject(closed);
        await expect(ledger.byMessage('a1')).rejects.toMatchObject(closed);
        await expect(ledger.count()).rejects.toMatchObject(closed);
        await expect(all(ledger.scan())).rejects.toMatchObject(closed);
        await expect(ledger.flush()).resolves.toBeUndefined();
        expect(await ledger.closed).toBeUndefined();
      });
      it('fences a writer whose head went stale: its append fails typed, it stops, no chain forks', async () => {
        const { store, ledger } = await opened();
        await using _ = ledger;
        await ledger.append(rec('a1'));
        // Both writers know the head at seq 1; the first moves on, so the second's seq 2 is taken.
        await using stale = await store.open();
        expect(await ledger.append(rec('a2'))).toMatchObject({ seq: 2 });
        const fenced = { code: 'MW_LEDGER_FENCED', details: { partition: 0, seq: 2 } };
        await expect(stale.appendAll([rec('z2'), rec('z3')])).rejects.toMatchObject(fenced);
        expect(await stale.fenced(0)).toMatchObject(fenced);
        // The partition is fenced (or, where a fence closes the whole ledger, the ledger is closed).
        await expect(stale.append(rec('z4'))).rejects.toMatchObject({
          code: expect.stringMatching(/^MW_LEDGER_(FENCED|CLOSED)$/),
        });
        expect(await ledger.append(rec('a3'))).toMatchObject({ seq: 3 });
        expect(await ledger.byMessage('z2')).toEqual([]);
        expect(await ledger.verify()).toMatchObject({ ok: true, entries: 3 });
      });

      it('adopts a partition: its stored head, after what was appended to it, and appends go on from it', async () => {
        const { ledger } = await opened();
        await using _ = ledger;
        await ledger.append(rec('a1'), 3);
        const pending = ledger.append(rec('a2'), 3);
        const head = await ledger.adopt(3);
        const a2 = await pending;
        expect(head).toEqual({ partition: 3, size: 2, head: a2.hash });
        expect(ledger.heads()).toEqual([head]);
        expect(await ledger.adopt(5)).toEqual({ partition: 5, size: 0, head: GENESIS });
        expect(await ledger.append(rec('b1'), 5)).toMatchObject({ partition: 5, seq: 1, prev: GENESIS });
        expect(await ledger.append(rec('a3'), 3)).toMatchObject({ seq: 3, prev: a2.hash });
        expect(await ledger.verify()).toMatchObject({ ok: true, entries: 4 });
        let fenced = false;
        void ledger.fenced(3).then(() => {
          fenced = true;
        });
        await ledger.flush();
        expect(fenced).toBe(false);
      });
    });

    describe('reader', () => {
      it('sees every append made before a read, without awaiting the append', async () => {
        const { ledger } = await opened();
        await using _ = ledger;
        const a = ledger.append(rec('m1'));
        const g = ledger.appendAll([rec('m2', 'm1'), rec('m3', 'm2')], 1);
        expect(await ledger.byMessage('m1')).toEqual([await a]);
        expect(await ledger.count()).toBe(3);
        expect((await ledger.lineage('m3')).map((e) => e.msgId)).toEqual(['m1', 'm2', 'm3']);
        ledger.append(rec('m4'));
        expect((await all(ledger.scan())).map((e) => e.msgId)).toEqual(['m1', 'm4', 'm2', 'm3']);
        expect(await g).toHaveLength(2);
      });

      it('stores any text as it is: tabs, line breaks, backslashes, quotes, \\N, emoji', async () => {
        const { ledger } = await opened();
        await using _ = ledger;
        const odd = 'a\tb\nc\rd\\e"f\\Ng 😀 \\.';
        const [cause] = await ledger.appendAll([rec('m1', undefined, { subject: odd })]);
        const record = {
          kind: odd,
          correlationId: odd,
          agent: odd,
          data: { [odd]: odd, '\\': ['\n', '\t'] },
        };
        const entry = await ledger.append(rec(odd, odd, record));
        expect((await ledger.byMessage(odd))[0]).toEqual(entry);
        expect(await ledger.bySubject(odd)).toEqual([cause]);
        expect(await ledger.byAgent(odd)).toEqual([entry]);
        expect(await ledger.verify()).toMatchObject({ ok: true, entries: 2 });
      });

      it('finds nothing, without an error, for a key holding a NUL (outside input may)', async () => {
        const { ledger } = await opened();
        await using _ = ledger;
        await ledger.append(rec('m1'));
        const key = 'm1\u0000x';
        expect(await ledger.byMessage(key)).toEqual([]);
        expect(await ledger.byCausation(key)).toEqual([]);
        expect(await ledger.bySubject(key)).toEqual([]);
        expect(await ledger.byAgent(key)).toEqual([]);
        expect(await ledger.byAgentPrefix('churn\u0000')).toEqual([]);
        expect(await ledger.lineage(key)).toEqual([]);
        expect(await ledger.impact(key)).toEqual([]);
      });

      it('answers every query, in append order, with limits keeping the most recent', async () => {
        const { ledger } = await opened();
        await using _ = ledger;
        const m1 = await ledger.append(rec('m1'));
        const m2 = await ledger.append(rec('m2', 'm1'));
        const d1 = await ledger.append({
          kind: 'delivered',
          at: AT,
          msgId: 'm1',
          agent: 'discount@1.1.0',
          data: {},
        });
        const m3 = await ledger.append(rec('m3', 'm1'));
        const p1 = await ledger.append({
          kind: 'pilot.action',
          at: AT,
          subject: 'account:1',
          agent: 'pilot:ana',
          data: {},
        });
        const p2 = await ledger.append({ kind: 'pilot.action', at: AT, agent: 'pilot:bo', data: {} });
        await ledger.append({ kind: 'pilot.action', at: AT, agent: 'pilotless', data: {} });
        expect(await ledger.byMessage('m1')).toEqual([m1, d1]);
        expect(await ledger.byMessage('nope')).toEqual([]);
        // A message's first entry each, in one read; ids without one left out.
        const firsts = await ledger.firstOfEach(['m3', 'm1', 'nope', 'm1']);
        expect([...firsts.keys()].sort()).toEqual(['m1', 'm3']);
        expect(firsts.get('m1')).toEqual(m1);
        expect(firsts.get('m3')).toEqual(m3);
        expect(await ledger.firstOfEach([])).toEqual(new Map());
        expect(await ledger.byCausation('m1')).toEqual([m2, m3]);
        expect(await ledger.bySubject('account:1')).toEqual([m1, m3, p1]);
        expect(await ledger.bySubject('account:1', { limit: 2 })).toEqual([m3, p1]);
        expect(await ledger.byAgent('churn@2.0.1')).toEqual([m1, m2, m3]);
        expect(await ledger.byAgent('churn@2.0.1', { limit: 1 })).toEqual([m3]);
        expect(await ledger.byAgent('discount@1.1.0')).toEqual([d1]);
        expect(await ledger.byAgentPrefix('pilot:')).toEqual([p1, p2]);
        expect(await ledger.byAgentPrefix('pilot:', { limit: 1 })).toEqual([p2]);
        expect(await ledger.count()).toBe(7);
      });

      it('keeps the most recent by time across partitions, whichever partition holds more', async () => {
        const { ledger } = await opened();
        await using _ = ledger;
        const at = (i: number) => ({ kind: 'delivered', at: AT + i, agent: 'sink@1.0.0', data: {} });
        // Partition 1 is written first and holds more; partition 0 holds the two newest.
        for (let i = 0; i < 5; i++) await ledger.append(at(i), 1);
        const newer = [await ledger.append(at(10), 0), await ledger.append(at(11), 0)];
        const newest = await ledger.append(at(12), 1);
        expect(await ledger.byAgent('sink@1.0.0', { limit: 3 })).toEqual([...newer, newest]);
        expect(await ledger.byAgentPrefix('sink@', { limit: 2 })).toEqual([newer[1], newest]);
        expect(await ledger.byAgent('sink@1.0.0')).toHaveLength(8);
      });

      it('walks lineage back to the root and impact forward, breadth first, across partitions', async () => {
        const { ledger } = await opened();
        await using _ = ledger;
        // root → b → c → e, root → d; a later delivery of b must not change its "first entry".
        const root = await ledger.append(rec('root'));
        const b = await ledger.append(rec('b', 'root'));
        const d = await ledger.append(rec('d', 'root'), 1);
        await ledger.append({ kind: 'delivered', at: AT, msgId: 'b', data: {} });
        const c = await ledger.append(rec('c', 'b'));
        const e = await ledger.append(rec('e', 'c'));
        expect(await ledger.lineage('e')).toEqual([root, b, c, e]);
        expect(await ledger.lineage('root')).toEqual([root]);
        expect(await ledger.lineage('nope')).toEqual([]);
        expect(await ledger.impact('root')).toEqual([b, d, c, e]);
        expect(await ledger.impact('c')).toEqual([e]);
        expect(await ledger.impact('e')).toEqual([]);
        expect(await ledger.byCausation('root')).toEqual([b, d]);
      });

      it('scans in (partition, seq) order with partition, afterSeq and kinds filters', async () => {
        const { ledger } = await opened();
        await using _ = ledger;
        const a = await ledger.append(rec('a1'));
        const b = await ledger.append({ kind: 'policy.loaded', at: AT, data: { digest: 'x' } });
        const c = await ledger.append({ kind: 'delivered', at: AT, msgId: 'a1', data: {} });
        const q = await ledger.append(rec('q1'), 1);
        expect(await all(ledger.scan())).toEqual([a, b, c, q]);
        expect(await all(ledger.scan({ partition: 1 }))).toEqual([q]);
        expect(await all(ledger.scan({ partition: 0, afterSeq: 1 }))).toEqual([b, c]);
        expect(await all(ledger.scan({ kinds: ['delivered', 'policy.loaded'] }))).toEqual([b, c]);
        expect(await all(ledger.scan({ kinds: [] }))).toEqual([]);
      });

      it('stops a scan on break and keeps appending and reading', async () => {
        const { ledger } = await opened();
        await using _ = ledger;
        for (let i = 1; i <= 10; i++) await ledger.append(rec(`m${i}`));
        const seen: number[] = [];
        for await (const e of ledger.scan()) {
          seen.push(e.seq);
          if (seen.length === 3) break;
        }
        expect(seen).toEqual([1, 2, 3]);
        await ledger.append(rec('after'));
        await expect(ledger.flush()).resolves.toBeUndefined();
        expect(await ledger.count()).toBe(11);
        expect((await all(ledger.scan({ afterSeq: 10 }))).map((e) => e.msgId)).toEqual(['after']);
      });

      it('streams its stored rows column for column', async () => {
        const { ledger } = await opened();
        await using _ = ledger;
        const a = await ledger.append(rec('m1', 'm0'));
        const rows = await all(ledger.storedRows());
        expect(rows).toHaveLength(1);
        expect({ ...rows[0] }).toMatchObject({
          partition: 0,
          seq: 1,
          kind: 'decision',
          at: a.at,
          msg_id: 'm1',
          causation_id: 'm0',
          correlation_id: 'root',
          subject: a.subject,
          agent: 'churn@2.0.1',
          body: entryBody(0, 1, rec('m1', 'm0')),
          prev: GENESIS,
          hash: a.hash,
        });
      });
    });

    describeStoredHeads(opened);
    describeVerification(opened);
    describeSnapshotPort(opened);
  });
}
