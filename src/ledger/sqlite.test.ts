import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { BY_SUBJECT_PAST_TAIL, QUERIES, scanQuery } from './queries.js';
import { openLedger } from './sqlite.js';
import { tempLedgerFiles } from './test-kit.js';
import type { LedgerRecord } from './types.js';
import { VERIFY_PROGRESS_EVERY } from './verify.js';

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

// What every adapter does is in the conformance suite (sqlite.conformance.test.ts); these are SQLite's own.
describe('openLedger', () => {
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
    expect(await ledger.verify()).toMatchObject({ ok: true, entries: 1_050 });
  });

  it('commits a partial batch on the next tick without a flush', async () => {
    const file = tempFile();
    await using ledger = openLedger({ file, origin: 'test' });
    const entry = await ledger.append(msg('a'));
    const reader = new DatabaseSync(file, { readOnly: true });
    expect(reader.prepare('SELECT hash FROM entries WHERE seq = 1').get()?.hash).toBe(entry.hash);
    reader.close();
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
    await expect(b.append(msg('b'))).rejects.toMatchObject({ code: 'MW_LEDGER_FENCED' });
    expect(await b.closed).toMatchObject({ code: 'MW_LEDGER_FENCED' });
    expect(await a.verify()).toMatchObject({ ok: true, entries: 1 });
  });

  it('says a lock held past its wait is worth trying again (a writer moving the file, a long commit)', () => {
    const file = tempFile();
    openLedger({ file, origin: 'test' }).close();
    const holder = new DatabaseSync(file);
    holder.exec('BEGIN IMMEDIATE');
    try {
      expect(() => openLedger({ file, origin: 'test', upgrade: false })).toThrow(
        expect.objectContaining({ code: 'MW_LEDGER_IO', details: { locked: true, waitedMs: 5_000 } }),
      );
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  }, 15_000);

  it('lets the event loop turn during a long verify or scan, and tells how far a verify has come', async () => {
    await using ledger = openLedger({ file: tempFile(), origin: 'test', durability: 'normal' });
    const n = 2 * VERIFY_PROGRESS_EVERY + 10;
    for (let i = 0; i < n; i += 5_000) {
      await Promise.all(
        Array.from({ length: Math.min(5_000, n - i) }, (_, j) => ledger.append(msg(`m${i + j}`))),
      );
    }
    // An immediate scheduled early in each read runs before it ends: the loop was not held.
    const events: string[] = [];
    const result = await ledger.verify({
      onProgress: (verified) => {
        events.push(`verified ${verified}`);
        if (verified === VERIFY_PROGRESS_EVERY) setImmediate(() => events.push('turn'));
      },
    });
    expect(result).toMatchObject({ ok: true, entries: n });
    expect(events).toEqual([
      `verified ${VERIFY_PROGRESS_EVERY}`,
      'turn',
      `verified ${2 * VERIFY_PROGRESS_EVERY}`,
    ]);
    let rows = 0;
    let turnedAt: number | undefined;
    for await (const _ of ledger.scan()) {
      if (++rows === 1) setImmediate(() => (turnedAt = rows));
    }
    expect(rows).toBe(n);
    expect(turnedAt).toBeLessThan(n);
  }, 60_000);

  it('reads a long read in pages: reads meanwhile see new commits, and a checkpoint can be written', async () => {
    const file = tempFile();
    await using ledger = openLedger({ file, origin: 'test', durability: 'normal' });
    const n = VERIFY_PROGRESS_EVERY + 10;
    for (let i = 0; i < n; i += 5_000) {
      await Promise.all(
        Array.from({ length: Math.min(5_000, n - i) }, (_, j) => ledger.append(msg(`m${i + j}`))),
      );
    }
    let during: Promise<{ found: number; checkpointed: number }> | undefined;
    const result = await ledger.verify({
      onProgress: () => {
        during = (async () => {
          await ledger.append(msg('late'));
          await ledger.flush();
          const found = (await ledger.byMessage('late')).length;
          const checkpointed = (await ledger.checkpoint()).partitions[0]!.size;
          return { found, checkpointed };
        })();
      },
    });
    expect(result).toMatchObject({ ok: true });
    expect(await during).toEqual({ found: 1, checkpointed: n + 1 });
  }, 60_000);

  it('reads past keys no page can end at (tampered), skipping none and reading none twice', async () => {
    const file = tempFile();
    const n = 4_097;
    {
      await using ledger = openLedger({ file, origin: 'test', durability: 'normal' });
      await Promise.all(Array.from({ length: n }, (_, i) => ledger.append(msg(`m${i}`))));
    }
    // Text sorts after every integer: these two become the last rows, the first of them a page's
    // 4,096th (the seq of 2^60, past a JS number's safe integers, goes last in its partition before them).
    const db = new DatabaseSync(file);
    db.exec(
      "UPDATE entries SET partition = 'x' WHERE seq = 10; UPDATE entries SET partition = 'y' WHERE seq = 11",
    );
    db.exec('UPDATE entries SET seq = 1152921504606846976 WHERE seq = 12');
    db.close();
    await using reader = openLedger({ file, upgrade: false });
    const rows: unknown[] = [];
    for await (const row of reader.storedRows()) rows.push(row.partition);
    expect(rows).toHaveLength(n);
    expect(rows.slice(-2)).toEqual(['x', 'y']);
    let scanned = 0;
    for await (const _ of reader.scan()) scanned++;
    expect(scanned).toBe(n);
    let inPartition = 0;
    for await (const _ of reader.scan({ partition: 0 })) inPartition++;
    expect(inPartition).toBe(n - 2);
  }, 60_000);

  it('still finds a forged second row of a key a page would end at, in a table rebuilt without its key', async () => {
    const file = tempFile();
    {
      await using ledger = openLedger({ file, origin: 'test', durability: 'normal' });
      await Promise.all(Array.from({ length: 4_097 }, (_, i) => ledger.append(msg(`m${i}`))));
    }
    const db = new DatabaseSync(file);
    db.exec(
      'CREATE TABLE rebuilt AS SELECT * FROM entries; DROP TABLE entries; ALTER TABLE rebuilt RENAME TO entries; ' +
        'INSERT INTO entries SELECT * FROM entries WHERE seq = 4096',
    );
    db.close();
    await using reader = openLedger({ file, upgrade: false });
    let rows = 0;
    for await (const _ of reader.storedRows()) rows++;
    expect(rows).toBe(4_098);
    expect(await reader.verify()).toMatchObject({ ok: false, entries: 4_096 });
  }, 60_000);

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
    ["a subject's tail, through its index", BY_SUBJECT_PAST_TAIL],
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
    // `SEARCH e` is entries under an alias (the subject lookup joins it).
    expect(plan.some((step) => /^SEARCH (entries|e|subject_filled) /.test(step))).toBe(true);
    expect(plan.filter((step) => step.startsWith('SCAN'))).toEqual([]);
  });

  it('joins each key of the lookup by subject to its entry by one seek, not a range', () => {
    const file = tempFile();
    openLedger({ file, origin: 'test' }).close();
    const db = new DatabaseSync(file);
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN ${QUERIES.bySubjectUpTo}`)
      .all('account:1', 0, 10, 100)
      .map((row) => String(row.detail));
    db.close();
    const entry = plan.find((step) => step.startsWith('SEARCH e '));
    expect(entry).toMatch(/partition=\? AND seq=\?/);
  });
});
