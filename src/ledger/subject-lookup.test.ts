import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../envelope/index.js';
import { openLedgerAt } from './location.js';
import { openLedger } from './sqlite.js';
import { tempLedgerFiles } from './test-kit.js';
import type { LedgerRecord } from './types.js';

// The lookup by subject (subject-lookup.ts): filled by the commit worker every so many entries, the
// entries past its mark read through the tail's index (by the primary key in a file without it), a
// ledger with the older index moved over on open.
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
    'SELECT partition, seq FROM subject_filled ORDER BY partition',
  );
const keys = (file: string) => read<{ n: number }>(file, 'SELECT count(*) AS n FROM subject_entries')[0]!.n;
const seqsOf = (entries: readonly { seq: number }[]) => entries.map((e) => e.seq);
/** The seqs of account:`k` among entries 1..n (entry i has seq i + 1 when entry 0 is seq 1). */
const expected = (k: number, n: number) =>
  Array.from({ length: n }, (_, i) => i)
    .filter((i) => i % 3 === k)
    .map((i) => i + 1);

/** A ledger of 40 entries over 2 partitions, as version 1 left it: an index on entries, no lookup. */
async function versionOneFile(): Promise<string> {
  const file = tempFile();
  const ledger = openLedger({ file, origin: 'test' });
  await Promise.all(Array.from({ length: 40 }, (_, i) => ledger.append(rec(i), i % 2)));
  await ledger.close();
  const db = new DatabaseSync(file);
  db.exec(`DROP TABLE subject_entries; DROP TABLE subject_filled; DROP INDEX entries_subject_tail;
    CREATE INDEX entries_subject ON entries (subject, partition, seq) WHERE subject IS NOT NULL;
    UPDATE meta SET value = '1' WHERE key = 'schema'`);
  db.close();
  return file;
}

/**
 * 20 entries about account:a, filled on close, then the rows past seq 10 removed from the end (as
 * `verify` would report, given a checkpoint past them): the lookup's keys and mark still go to 20.
 */
async function cutShortFile(): Promise<string> {
  const file = tempFile();
  const ledger = openLedger({ file, origin: 'test' });
  await Promise.all(Array.from({ length: 20 }, (_, i) => ledger.append({ ...rec(i), subject: 'account:a' })));
  await ledger.close();
  const db = new DatabaseSync(file);
  db.exec('DELETE FROM entries WHERE seq > 10');
  db.close();
  return file;
}

describe('the lookup by subject', () => {
  it("is filled every so many entries and finds the ones past its mark through the tail's index", async () => {
    const file = tempFile();
    await using ledger = openLedger({ file, origin: 'test', subjectFillEvery: 10 });
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
    db.exec('DELETE FROM subject_entries WHERE seq > 12; UPDATE subject_filled SET seq = 12');
    db.close();
    await using again = openLedger({ file, origin: 'test', subjectFillEvery: 10 });
    expect(seqsOf(await again.bySubject('account:0'))).toEqual(expected(0, 30));
    await again.append(rec(30));
    expect(marks(file)).toEqual([{ partition: 0, seq: 31 }]);
    expect(keys(file)).toBe(31);
    expect(seqsOf(await again.bySubject('account:0'))).toEqual(expected(0, 31));
  });

  it("reads a version-2 file's tail by the primary key; a writer's open builds the tail's index and moves it to 3", async () => {
    const file = tempFile();
    const made = openLedger({ file, origin: 'test' });
    await Promise.all(Array.from({ length: 25 }, (_, i) => made.append(rec(i))));
    await made.close();
    // As version 2 left it after a crash: no tail's index, the lookup up to 20, the tail 21..25.
    const db = new DatabaseSync(file);
    db.exec(`DROP INDEX entries_subject_tail;
      DELETE FROM subject_entries WHERE seq > 20; UPDATE subject_filled SET seq = 20;
      UPDATE meta SET value = '2' WHERE key = 'schema'`);
    db.close();
    const indexes = () =>
      read<{ name: string }>(file, "SELECT name FROM sqlite_master WHERE type = 'index'").map((r) => r.name);
    const version = () => read(file, "SELECT value FROM meta WHERE key = 'schema'");

    const reader = await openLedgerAt(file, { create: false });
    if (isMeshwardenError(reader)) throw reader;
    expect(seqsOf(await reader.bySubject('account:1'))).toEqual(expected(1, 25));
    expect(seqsOf(await reader.bySubject('account:0', { limit: 3 }))).toEqual(expected(0, 25).slice(-3));
    await reader.close();
    expect(version()).toEqual([{ value: '2' }]);
    expect(indexes()).not.toContain('entries_subject_tail');

    const told: (string | number)[][] = [];
    const writer = await openLedgerAt(file, {
      onUpgradeStart: (from, to, entries) => told.push([from, to, entries]),
      onUpgrade: (from, to) => told.push([from, to]),
    });
    if (isMeshwardenError(writer)) throw writer;
    expect(told).toEqual([
      ['2', '3', 25],
      ['2', '3'],
    ]);
    expect(indexes()).toContain('entries_subject_tail');
    expect(version()).toEqual([{ value: '3' }]);
    expect(seqsOf(await writer.bySubject('account:1'))).toEqual(expected(1, 25));
    expect(seqsOf(await writer.bySubject('account:0', { limit: 3 }))).toEqual(expected(0, 25).slice(-3));
    await writer.close();
  });

  it('moves the index of a ledger made before it into the lookup, and drops the index', async () => {
    const file = await versionOneFile();
    const told: string[][] = [];
    await using again = openLedger({ file, origin: 'test', onUpgrade: (from, to) => told.push([from, to]) });
    expect(told).toEqual([['1', '3']]);
    const indexes = read<{ name: string }>(file, "SELECT name FROM sqlite_master WHERE type = 'index'");
    expect(indexes.map((r) => r.name)).not.toContain('entries_subject');
    expect(read(file, "SELECT value FROM meta WHERE key = 'schema'")).toEqual([{ value: '3' }]);
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

  it("is moved by a writer's open through openLedgerAt, which is told", async () => {
    const file = await versionOneFile();
    const told: string[][] = [];
    const writer = await openLedgerAt(file, { onUpgrade: (from, to) => told.push([from, to]) });
    if (isMeshwardenError(writer)) throw writer;
    await writer.close();
    expect(told).toEqual([['1', '3']]);
    expect(read(file, "SELECT value FROM meta WHERE key = 'schema'")).toEqual([{ value: '3' }]);
    expect(keys(file)).toBe(40);
  });

  it('is not moved by a reader: a version-1 file stays one, and its subjects are found', async () => {
    const file = await versionOneFile();
    const reader = await openLedgerAt(file, { create: false });
    if (isMeshwardenError(reader)) throw reader;
    const found = await reader.bySubject('account:2');
    await reader.close();
    expect(found.map((e) => e.msgId)).toEqual(
      Array.from({ length: 40 }, (_, i) => i)
        .filter((i) => i % 3 === 2)
        .map((i) => `m${i}`),
    );
    expect(read(file, "SELECT value FROM meta WHERE key = 'schema'")).toEqual([{ value: '1' }]);
    const indexes = read<{ name: string }>(file, "SELECT name FROM sqlite_master WHERE type = 'index'");
    expect(indexes.map((r) => r.name)).toContain('entries_subject');
  });

  it('fills every partition it holds, and a reader finds partitions begun after it opened', async () => {
    const file = tempFile();
    await using ledger = openLedger({ file, origin: 'test', subjectFillEvery: 8 });
    // Filled when the 8th and the 16th entry commit: every partition up to its last entry then.
    for (let i = 0; i < 6; i++) await ledger.append(rec(i), 0);
    await using reader = openLedger({ file, origin: 'test' });
    for (let i = 6; i < 20; i++) await ledger.append(rec(i), i % 3);
    expect(marks(file)).toEqual([
      { partition: 0, seq: 10 },
      { partition: 1, seq: 3 },
      { partition: 2, seq: 3 },
    ]);
    const about = (k: number) => Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 3 === k);
    for (const k of [0, 1, 2]) {
      const wanted = about(k).map((i) => `m${i}`);
      expect((await ledger.bySubject(`account:${k}`)).map((e) => e.msgId)).toEqual(wanted);
      expect((await reader.bySubject(`account:${k}`)).map((e) => e.msgId)).toEqual(wanted);
    }
  });

  it('forgets keys past the end of a chain cut short, and fills what is appended there again', async () => {
    const file = await cutShortFile();
    const again = openLedger({ file, origin: 'test' });
    expect(marks(file)).toEqual([{ partition: 0, seq: 10 }]);
    expect(keys(file)).toBe(10);
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => again.append({ ...rec(20 + i), subject: 'account:b' })),
    );
    expect((await again.bySubject('account:a')).map((e) => e.seq)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    expect((await again.bySubject('account:b')).map((e) => e.seq)).toEqual([11, 12, 13, 14, 15]);
    await again.close();
    expect(marks(file)).toEqual([{ partition: 0, seq: 15 }]);
  });

  it('forgets keys past the end of a chain cut short on any open, so a reader that appends is filled', async () => {
    const file = await cutShortFile();
    const reader = openLedger({ file, origin: 'test', upgrade: false });
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => reader.append({ ...rec(20 + i), subject: 'account:b' })),
    );
    await reader.close();
    await using writer = openLedger({ file, origin: 'test' });
    expect((await writer.bySubject('account:b')).map((e) => e.seq)).toEqual([11, 12, 13, 14, 15]);
    expect(keys(file)).toBe(15);
  });
});
