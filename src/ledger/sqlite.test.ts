import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { QUERIES, scanQuery } from './queries.js';
import { openLedger } from './sqlite.js';
import { tempLedgerFiles } from './test-kit.js';
import type { LedgerRecord } from './types.js';

const tempFile = tempLedgerFiles('mw-ledger-');

const AT = 1_732_000_000_000;
const msg = (id: string, causationId?: string, extra: Partial<LedgerRecord> = {}): LedgerRecord => ({
  kind: 'decision',
  at: AT,
  msgId: id,
  ...(causationId === undefined ? {} : { causationId }),
  correlationId: 'root',
  subject: 'account:1',
  agent: 'churn@2.0.1',
  data: { verdict: 'deliver', note: 'ünïcode ✓' },
  ...extra,
});

describe('openLedger', () => {
  it('appends, chains and reads entries back', async () => {
    await using ledger = openLedger({ file: tempFile(), origin: 'test' });
    const a = await ledger.append(msg('a'));
    const b = await ledger.append({ kind: 'policy.loaded', at: AT + 1, data: { digest: 'x' } });
    const c = await ledger.append({
      kind: 'delivered',
      at: AT + 2,
      msgId: 'a',
      agent: 'discount@1.1.0',
      data: {},
    });
    expect([a.seq, b.seq, c.seq]).toEqual([1, 2, 3]);
    expect(a.prev).toBe(`sha256:${'0'.repeat(64)}`);
    expect(b.prev).toBe(a.hash);
    expect(c.prev).toBe(b.hash);
    expect(ledger.byMessage('a')).toEqual([a, c]);
    expect(ledger.bySubject('account:1')).toEqual([a]);
    expect(ledger.byAgent('discount@1.1.0')).toEqual([c]);
    expect(ledger.count()).toBe(3);
    expect(ledger.heads()).toEqual([{ partition: 0, size: 3, head: c.hash }]);
    expect([...ledger.scan()]).toEqual([a, b, c]);
    expect([...ledger.scan({ kinds: ['delivered', 'policy.loaded'] })]).toEqual([b, c]);
    expect([...ledger.scan({ partition: 0, afterSeq: 1 })]).toEqual([b, c]);
    expect(ledger.verify()).toMatchObject({ ok: true, entries: 3 });
  });

  it('keeps the most recent entries under a limit, oldest first', async () => {
    await using ledger = openLedger({ file: tempFile(), origin: 'test' });
    for (let i = 1; i <= 5; i++) await ledger.append(msg(`m${i}`));
    expect(ledger.bySubject('account:1', { limit: 2 }).map((e) => e.msgId)).toEqual(['m4', 'm5']);
    expect(ledger.byAgent('churn@2.0.1', { limit: 1 }).map((e) => e.msgId)).toEqual(['m5']);
  });

  it('continues every partition chain after a restart', async () => {
    const file = tempFile();
    const first = openLedger({ file, origin: 'test' });
    await first.append(msg('a'));
    const p3 = await first.append(msg('b'), 3);
    await first.close();
    expect(await first.closed).toBeUndefined();

    await using again = openLedger({ file, origin: 'test' });
    expect(again.heads()).toEqual([
      { partition: 0, size: 1, head: expect.any(String) },
      { partition: 3, size: 1, head: p3.hash },
    ]);
    const next = await again.append(msg('c'), 3);
    expect(next).toMatchObject({ partition: 3, seq: 2, prev: p3.hash });
    expect(again.verify()).toMatchObject({ ok: true, entries: 3 });
  });

  it('group-commits many appends and makes them durable with one flush', async () => {
    const file = tempFile();
    await using ledger = openLedger({ file, origin: 'test', batchSize: 100 });
    const pending = Array.from({ length: 1_050 }, (_, i) => ledger.append(msg(`m${i}`)));
    // Full batches go to the commit worker at once, each one transaction: a reader never sees part
    // of one. The tail waits for the tick or a flush.
    const reader = new DatabaseSync(file, { readOnly: true });
    expect(Number(reader.prepare('SELECT count(*) AS n FROM entries').get()?.n) % 100).toBe(0);
    await ledger.flush();
    expect(reader.prepare('SELECT count(*) AS n FROM entries').get()?.n).toBe(1_050);
    reader.close();
    const entries = await Promise.all(pending);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 1_050 }, (_, i) => i + 1));
    expect(ledger.verify()).toMatchObject({ ok: true, entries: 1_050 });
  });

  it('commits a partial batch on the next tick without a flush', async () => {
    const file = tempFile();
    await using ledger = openLedger({ file, origin: 'test' });
    const entry = await ledger.append(msg('a'));
    const reader = new DatabaseSync(file, { readOnly: true });
    expect(reader.prepare('SELECT hash FROM entries WHERE seq = 1').get()?.hash).toBe(entry.hash);
    reader.close();
  });

  it('walks lineage back to the root and impact forward, breadth first', async () => {
    await using ledger = openLedger({ file: tempFile(), origin: 'test' });
    // root → b → c → e, root → d; a later delivery of b must not change its "first entry".
    const root = await ledger.append(msg('root'));
    const b = await ledger.append(msg('b', 'root'));
    const d = await ledger.append(msg('d', 'root'), 1);
    await ledger.append({ kind: 'delivered', at: AT, msgId: 'b', data: {} });
    const c = await ledger.append(msg('c', 'b'));
    const e = await ledger.append(msg('e', 'c'));
    expect(ledger.lineage('e')).toEqual([root, b, c, e]);
    expect(ledger.lineage('root')).toEqual([root]);
    expect(ledger.lineage('nope')).toEqual([]);
    expect(ledger.impact('root')).toEqual([b, d, c, e]);
    expect(ledger.impact('c')).toEqual([e]);
    expect(ledger.impact('e')).toEqual([]);
    expect(ledger.byCausation('root')).toEqual([b, d]);
  });

  it('releases a scan statement when the consumer breaks', async () => {
    await using ledger = openLedger({ file: tempFile(), origin: 'test' });
    for (let i = 0; i < 10; i++) await ledger.append(msg(`m${i}`));
    const seen: number[] = [];
    for (const e of ledger.scan()) {
      seen.push(e.seq);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([1, 2, 3]);
    // The writer can still commit: the read snapshot is gone.
    await ledger.append(msg('after'));
    await expect(ledger.flush()).resolves.toBeUndefined();
    expect([...ledger.scan({ kinds: [] })]).toEqual([]);
  });

  it('rejects appends after close with MW_LEDGER_CLOSED; close is idempotent', async () => {
    const ledger = openLedger({ file: tempFile(), origin: 'test' });
    const pending = ledger.append(msg('a'));
    await ledger.close();
    await ledger.close();
    await expect(pending).resolves.toMatchObject({ seq: 1 });
    await expect(ledger.append(msg('b'))).rejects.toMatchObject({ code: 'MW_LEDGER_CLOSED' });
    expect(() => ledger.byMessage('a')).toThrow(expect.objectContaining({ code: 'MW_LEDGER_CLOSED' }));
    expect(await ledger.closed).toBeUndefined();
  });

  it('rejects a record that has no canonical form without advancing the chain', async () => {
    await using ledger = openLedger({ file: tempFile(), origin: 'test' });
    const bad = { kind: 'k', at: Number.NaN, data: {} };
    await expect(ledger.append(bad)).rejects.toMatchObject({ code: 'MW_LEDGER_RECORD' });
    await expect(ledger.append(msg('a'), -1)).rejects.toMatchObject({ code: 'MW_LEDGER_RECORD' });
    expect(await ledger.append(msg('a'))).toMatchObject({ seq: 1 });
  });

  it('rejects the whole batch and closes with the error when a commit fails', async () => {
    const file = tempFile();
    const ledger = openLedger({ file, origin: 'test' });
    await ledger.append(msg('a'));
    const attacker = new DatabaseSync(file);
    attacker.exec('DROP TABLE entries');
    attacker.close();
    const batch = [ledger.append(msg('b')), ledger.append(msg('c'))];
    for (const p of batch) await expect(p).rejects.toMatchObject({ code: 'MW_LEDGER_IO' });
    expect(await ledger.closed).toMatchObject({ code: 'MW_LEDGER_IO' });
    await expect(ledger.append(msg('d'))).rejects.toMatchObject({ code: 'MW_LEDGER_CLOSED' });
    await expect(ledger.flush()).rejects.toMatchObject({ code: 'MW_LEDGER_IO' });
    await expect(ledger.close()).resolves.toBeUndefined();
  });

  it('fails a second writer on the same file rather than forking the chain', async () => {
    const file = tempFile();
    await using a = openLedger({ file, origin: 'test' });
    const b = openLedger({ file, origin: 'test' });
    await a.append(msg('a'));
    await expect(b.append(msg('b'))).rejects.toMatchObject({ code: 'MW_LEDGER_IO' });
    expect(await b.closed).toMatchObject({ code: 'MW_LEDGER_IO' });
    expect(a.verify()).toMatchObject({ ok: true, entries: 1 });
  });

  it('refuses a file with another schema version', () => {
    const file = tempFile();
    openLedger({ file, origin: 'test' }).close();
    const db = new DatabaseSync(file);
    db.exec("UPDATE meta SET value = '99' WHERE key = 'schema'");
    db.close();
    expect(() => openLedger({ file, origin: 'test' })).toThrow(
      expect.objectContaining({ code: 'MW_LEDGER_SCHEMA' }),
    );
  });
});

describe('query plans', () => {
  it.each([
    ...Object.entries(QUERIES),
    ['scan one partition', scanQuery({ partition: 0, afterSeq: 10 }).sql],
  ])('%s searches an index, never scans the table', (_, sql) => {
    const file = tempFile();
    openLedger({ file, origin: 'test' }).close();
    const db = new DatabaseSync(file);
    const params = (sql.match(/\?/g) ?? []).map(() => 1);
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .all(...params)
      .map((row) => String(row.detail));
    db.close();
    expect(plan.some((step) => step.startsWith('SEARCH entries'))).toBe(true);
    expect(plan.filter((step) => step.startsWith('SCAN'))).toEqual([]);
  });
});
