import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { openLedger } from './sqlite.js';
import { tempLedgerFiles } from './test-kit.js';
import type { LedgerRecord } from './types.js';

// The lookup by subject (schema.ts): filled by the commit worker every so many entries, the entries
// past its mark read by the primary key, a ledger with the older index moved over on open.
const tempFile = tempLedgerFiles('mw-subjects-');

/** Entry i is about account:(i % 3), so each subject's entries interleave with the others'. */
const rec = (i: number): LedgerRecord => ({
  kind: 'decision',
  at: 1_732_000_000_000 + i,
  msgId: `m${i}`,
  subject: `account:${i % 3}`,
  data: { i },
});

function read<T>(file: string, sql: string): T[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

const marks = (file: string) =>
  read<{ partition: number; seq: number }>(
    file,
    'SELECT partition, seq FROM subject_indexed ORDER BY partition',
  );
const keys = (file: string) => read<{ n: number }>(file, 'SELECT count(*) AS n FROM subject_entries')[0]!.n;
const seqsOf = (entries: readonly { seq: number }[]) => entries.map((e) => e.seq);
/** The seqs of account:`k` among entries 1..n (entry i has seq i + 1 when entry 0 is seq 1). */
const expected = (k: number, n: number) =>
  Array.from({ length: n }, (_, i) => i)
    .filter((i) => i % 3 === k)
    .map((i) => i + 1);

describe('the lookup by subject', () => {
  it('is filled every so many entries and finds the ones past its mark by the primary key', async () => {
    const file = tempFile();
    await using ledger = openLedger({ file, origin: 'test', subjectIndexEvery: 10 });
    for (let i = 0; i < 25; i++) await ledger.append(rec(i));
    // Filled in the commits that brought the entries past the mark to 10, then 20.
    expect(marks(file)).toEqual([{ partition: 0, seq: 20 }]);
    expect(keys(file)).toBe(20);
    for (const k of [0, 1, 2])
      expect(seqsOf(await ledger.bySubject(`account:${k}`))).toEqual(expected(k, 25));
    // A limit taken across the two: the newest from past the mark, the rest from the lookup.
    expect(seqsOf(await ledger.bySubject('account:1', { limit: 4 }))).toEqual([14, 17, 20, 23]);
    expect(await ledger.bySubject('account:9')).toEqual([]);
  });

  it('leaves nothing past its mark when the ledger closes', async () => {
    const file = tempFile();
    const ledger = openLedger({ file, origin: 'test' });
    await Promise.all(Array.from({ length: 30 }, (_, i) => ledger.append(rec(i))));
    expect(marks(file)).toEqual([]);
    await ledger.close();
    expect(marks(file)).toEqual([{ partition: 0, seq: 30 }]);
    expect(keys(file)).toBe(30);
    await using again = openLedger({ file, origin: 'test' });
    expect(seqsOf(await again.bySubject('account:2'))).toEqual(expected(2, 30));
  });

  it('reads a lookup left behind by a crash, and the next commits fill it', async () => {
    const file = tempFile();
    const ledger = openLedger({ file, origin: 'test' });
    await Promise.all(Array.from({ length: 30 }, (_, i) => ledger.append(rec(i))));
    await ledger.close();
    // As a crash after seq 12 would leave it: keys and mark up to 12 only.
    const db = new DatabaseSync(file);
    db.exec('DELETE FROM subject_entries WHERE seq > 12; UPDATE subject_indexed SET seq = 12');
    db.close();
    await using again = openLedger({ file, origin: 'test', subjectIndexEvery: 10 });
    expect(seqsOf(await again.bySubject('account:0'))).toEqual(expected(0, 30));
    await again.append(rec(30));
    expect(marks(file)).toEqual([{ partition: 0, seq: 31 }]);
    expect(keys(file)).toBe(31);
    expect(seqsOf(await again.bySubject('account:0'))).toEqual(expected(0, 31));
  });

  it('moves the index of a ledger made before it into the lookup, and drops the index', async () => {
    const file = tempFile();
    const ledger = openLedger({ file, origin: 'test' });
    await Promise.all(Array.from({ length: 40 }, (_, i) => ledger.append(rec(i), i % 2)));
    await ledger.close();
    // The schema as it was: the subject an index on entries, no lookup filled.
    const db = new DatabaseSync(file);
    db.exec(`DELETE FROM subject_entries; DELETE FROM subject_indexed;
      CREATE INDEX entries_subject ON entries (subject, partition, seq) WHERE subject IS NOT NULL`);
    db.close();
    await using again = openLedger({ file, origin: 'test' });
    const indexes = read<{ name: string }>(file, "SELECT name FROM sqlite_master WHERE type = 'index'");
    expect(indexes.map((r) => r.name)).not.toContain('entries_subject');
    expect(marks(file)).toEqual([
      { partition: 0, seq: 20 },
      { partition: 1, seq: 20 },
    ]);
    expect(keys(file)).toBe(40);
    // Entry i went to partition i % 2 as its (i >> 1) + 1-th entry there.
    const found = await again.bySubject('account:1');
    const wanted = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 3 === 1);
    expect(found.map((e) => e.msgId)).toEqual(wanted.map((i) => `m${i}`));
    expect(await again.verify()).toMatchObject({ ok: true, entries: 40 });
  });
});
