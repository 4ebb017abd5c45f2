import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import type { MeshwardenError } from '../envelope/index.js';
import { TURN_ENTRIES } from './commit-batches.js';
import { type Committer, type CommitterOptions, startCommitter } from './committer.js';
import { openLedger } from './sqlite.js';
import { tempLedgerFiles } from './test-kit.js';
import type { LedgerEntry, LedgerRecord } from './types.js';

// The commit worker: acknowledgements, queries that wait for it, failures, close, atomic groups.
const tempFile = tempLedgerFiles('mw-commit-');

const rec = (id: string): LedgerRecord => ({
  kind: 'decision',
  at: 1_732_000_000_000,
  msgId: id,
  subject: 'account:1',
  data: { note: 'x'.repeat(200) },
});
const recs = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => rec(`${prefix}${i}`));

/** A ledger file whose next insert of `seq` in partition 0 fails: a deterministic commit failure. */
function fileFailingAt(seq: number): string {
  const file = tempFile();
  openLedger({ file, origin: 'test' }).close();
  const db = new DatabaseSync(file);
  db.exec(`CREATE TRIGGER boom BEFORE INSERT ON entries WHEN NEW.seq = ${seq}
    BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
  db.close();
  return file;
}

/** A commit worker on `file` (a ledger already made there), started on its own as the ledger would. */
function committerOn(
  file: string,
  onFailure: CommitterOptions['onFailure'],
  more: Partial<CommitterOptions> = {},
): Committer {
  return startCommitter({
    file,
    durability: 'normal',
    maxEntries: 10,
    heads: new Map(),
    subjectFillEvery: 8192,
    onFailure,
    ...more,
  });
}

/**
 * A reader beside the worker's writes: it waits out the writer's brief exclusive moments (the WAL
 * restarting after a checkpoint) instead of failing with "database is locked", as it did once in CI.
 */
const readerOf = (file: string) => new DatabaseSync(file, { readOnly: true, timeout: 5_000 });

function rowCount(file: string): number {
  const reader = readerOf(file);
  try {
    return Number(reader.prepare('SELECT count(*) AS n FROM entries').get()?.n);
  } finally {
    reader.close();
  }
}

/** `n` batches of 100 entries for partition 0, seq 1 onwards: the entries and their column values. */
function batchesOf100(n: number): { entries: LedgerEntry[]; rows: (string | number | null)[] }[] {
  return Array.from({ length: n }, (_, b) => {
    const seqs = Array.from({ length: 100 }, (_, i) => b * 100 + i + 1);
    return {
      entries: seqs.map((seq) => ({ kind: 'k', at: 1, data: {}, partition: 0, seq, prev: '', hash: '' })),
      rows: seqs.flatMap((seq) => [0, seq, 'k', 1, null, null, null, null, null, `{"seq":${seq}}`]),
    };
  });
}

/** Blocks this thread (nothing else runs on it) until `file` holds `n` rows. */
function waitForRows(file: string, n: number): void {
  const asleep = new Int32Array(new SharedArrayBuffer(4));
  for (let tries = 0; rowCount(file) < n && tries < 1_000; tries++) Atomics.wait(asleep, 0, 0, 10);
  expect(rowCount(file)).toBe(n);
}

describe('the commit worker', () => {
  it('resolves appends in order, each only once another connection can read it', async () => {
    const file = tempFile();
    await using ledger = openLedger({ file, origin: 'test', batchSize: 3 });
    const reader = readerOf(file);
    const visible = reader.prepare('SELECT hash FROM entries WHERE partition = 0 AND seq = ?');
    const resolved: number[] = [];
    const seen: (string | undefined)[] = [];
    const track = (e: LedgerEntry) => {
      resolved.push(e.seq);
      seen.push(visible.get(e.seq)?.hash as string | undefined);
      return e;
    };
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) pending.push(ledger.append(rec(`a${i}`)).then(track));
    pending.push(ledger.appendAll(recs('g', 4)).then((group) => group.map(track)));
    await ledger.append(rec('mid')).then(track);
    for (let i = 0; i < 5; i++) pending.push(ledger.append(rec(`b${i}`)).then(track));
    await Promise.all(pending);
    reader.close();
    expect(resolved).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(seen.every((hash) => typeof hash === 'string')).toBe(true);
  });

  it('hands an idle worker a batch of 128 before it is full, without waiting for the tick', async () => {
    const file = tempFile();
    await using ledger = openLedger({ file, origin: 'test' });
    await ledger.append(rec('first'));
    // Within one synchronous run: nothing waits for a later tick, so only the early hand-off can
    // put these rows where another connection reads them.
    const pending = recs('e', 140).map((r) => ledger.append(r));
    const asleep = new Int32Array(new SharedArrayBuffer(4));
    let seen = rowCount(file);
    for (let tries = 0; seen < 129 && tries < 1_000; tries++) {
      Atomics.wait(asleep, 0, 0, 10);
      seen = rowCount(file);
    }
    // The first 128 went at once; the other 12 wait for the tick (or the next look at the worker).
    expect(seen).toBe(129);
    await Promise.all(pending);
    expect(rowCount(file)).toBe(141);
  });

  it('says the worker is busy from a batch sent to its commit', async () => {
    const file = tempFile();
    openLedger({ file, origin: 'test' }).close();
    // Another connection holds the write lock, so the batch waits in the worker.
    const locker = new DatabaseSync(file);
    locker.exec('BEGIN EXCLUSIVE');
    const committer = committerOn(file, () => {});
    expect(committer.idle()).toBe(true);
    const row = [0, 1, 'k', 1, null, null, null, null, null, '{"seq":1}'];
    const entry = [{ kind: 'k', at: 1, data: {}, partition: 0, seq: 1, prev: '', hash: '' }];
    const sent = new Promise<void>((resolve, reject) => committer.send(entry, row, resolve, reject));
    expect(committer.idle()).toBe(false);
    locker.exec('COMMIT');
    locker.close();
    await sent;
    expect(committer.idle()).toBe(true);
    committer.stop();
  });

  it('settles reports for about TURN_ENTRIES entries a turn, so the event loop turns between them', async () => {
    const file = tempFile();
    openLedger({ file, origin: 'test' }).close();
    const committer = committerOn(file, () => {}, { maxEntries: 100 });
    // Turns of the event loop, counted in its check phase.
    let turn = 0;
    let counting = true;
    const tick = () => {
      turn++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    const settled: { batch: number; turn: number }[] = [];
    const sent = batchesOf100(20).map(
      ({ entries, rows }, batch) =>
        new Promise<void>((resolve, reject) =>
          committer.send(entries, rows, () => resolve(void settled.push({ batch, turn })), reject),
        ),
    );
    // Committed, one transaction a batch, while this thread runs on: the reports wait to be read.
    waitForRows(file, 2_000);
    await Promise.all(sent);
    counting = false;
    committer.stop();
    expect(settled.map((s) => s.batch)).toEqual(Array.from({ length: 20 }, (_, b) => b));
    // Unbudgeted, the port's message event settled all 20 in one go. A turn's count may take in a
    // budget begun in the phase before it (the budget renews in the check phase too): two at most.
    const perTurn = Map.groupBy(settled, (s) => s.turn);
    expect(perTurn.size).toBeGreaterThan(1);
    for (const batches of perTurn.values())
      expect(batches.length * 100).toBeLessThanOrEqual(2 * (TURN_ENTRIES + 100));
  });

  it("reads posted reports in a send only up to the turn's budget, in order, each entry linked as stored", async () => {
    const file = tempFile();
    openLedger({ file, origin: 'test' }).close();
    const committer = committerOn(file, () => {}, { maxEntries: 100 });
    const batches = batchesOf100(12);
    let settled = 0;
    const sent = batches
      .slice(0, 11)
      .map(
        ({ entries, rows }) =>
          new Promise<void>((resolve, reject) =>
            committer.send(entries, rows, () => resolve(void settled++), reject),
          ),
      );
    waitForRows(file, 1_100);
    // Still the same turn: the twelfth send reads what was posted, as much as one turn settles.
    const before = settled;
    const last = batches[11]!;
    sent.push(
      new Promise<void>((resolve, reject) => committer.send(last.entries, last.rows, resolve, reject)),
    );
    expect(settled - before).toBeGreaterThan(0);
    expect((settled - before) * 100).toBeLessThanOrEqual(TURN_ENTRIES + 100);
    await Promise.all(sent);
    committer.stop();
    // Settled out of order, reports would link entries with another batch's hashes.
    const reader = readerOf(file);
    const stored = reader
      .prepare('SELECT seq, prev, hash FROM entries WHERE partition = 0 ORDER BY seq')
      .all();
    reader.close();
    const linked = batches.flatMap((b) => b.entries.map(({ seq, prev, hash }) => ({ seq, prev, hash })));
    expect(linked).toEqual(stored.map((row) => ({ ...row })));
  });

  it('lets a query see every append made before it, committed or still queued', async () => {
    await using ledger = openLedger({ file: tempFile(), origin: 'test', batchSize: 2 });
    const pending = recs('m', 5).map((r) => ledger.append(r));
    const group = ledger.appendAll([rec('g0'), { ...rec('g1'), causationId: 'g0' }]);
    // Nothing awaited: two full batches are with the worker, the rest is queued here.
    expect(await ledger.byMessage('m4')).toHaveLength(1);
    expect((await ledger.byCausation('g0')).map((e) => e.msgId)).toEqual(['g1']);
    const scanned = await Array.fromAsync(ledger.scan());
    expect(scanned.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await ledger.verify()).toMatchObject({ ok: true, entries: 7 });
    expect(await Promise.all(pending)).toEqual(scanned.slice(0, 5));
    expect((await group).map((e) => e.seq)).toEqual([6, 7]);
  });

  it('commits what is in flight on close, then stops the worker', async () => {
    const file = tempFile();
    const ledger = openLedger({ file, origin: 'test', batchSize: 100 });
    const pending = recs('m', 1_050).map((r) => ledger.append(r));
    const group = ledger.appendAll(recs('g', 3));
    await ledger.close();
    await ledger.close();
    expect((await Promise.all(pending)).map((e) => e.seq)).toEqual(
      Array.from({ length: 1_050 }, (_, i) => i + 1),
    );
    expect((await group).map((e) => e.seq)).toEqual([1_051, 1_052, 1_053]);
    expect(await ledger.closed).toBeUndefined();
    await expect(ledger.appendAll([rec('late')])).rejects.toMatchObject({ code: 'MW_LEDGER_CLOSED' });
    await expect(ledger.flush()).resolves.toBeUndefined();
    expect(rowCount(file)).toBe(1_053);
    await using again = openLedger({ file, origin: 'test' });
    expect(await again.verify()).toMatchObject({ ok: true, entries: 1_053 });
  });

  it('rejects the failed batch and every later one, and closes with the error', async () => {
    const file = fileFailingAt(3);
    const ledger = openLedger({ file, origin: 'test', batchSize: 2 });
    const committed = [ledger.append(rec('a')), ledger.append(rec('b'))];
    const lost = [ledger.append(rec('c')), ledger.append(rec('d')), ledger.appendAll(recs('e', 3))];
    expect((await Promise.all(committed)).map((e) => e.seq)).toEqual([1, 2]);
    for (const p of lost) await expect(p).rejects.toMatchObject({ code: 'MW_LEDGER_IO' });
    const err = (await ledger.closed) as MeshwardenError;
    expect(err).toMatchObject({ code: 'MW_LEDGER_IO' });
    await expect(ledger.append(rec('f'))).rejects.toMatchObject({ code: 'MW_LEDGER_CLOSED', cause: err });
    await expect(ledger.flush()).rejects.toBe(err);
    await expect(ledger.byMessage('a')).rejects.toMatchObject({ code: 'MW_LEDGER_CLOSED' });
    await expect(ledger.close()).resolves.toBeUndefined();
    expect(rowCount(file)).toBe(2);
  });

  it('fails a query that waits for a failing commit, without an unhandled rejection', async () => {
    const file = fileFailingAt(1);
    const ledger = openLedger({ file, origin: 'test' });
    const lost = ledger.append(rec('a'));
    await expect(ledger.byMessage('a')).rejects.toMatchObject({
      code: 'MW_LEDGER_CLOSED',
      cause: expect.objectContaining({ code: 'MW_LEDGER_IO' }),
    });
    await expect(lost).rejects.toMatchObject({ code: 'MW_LEDGER_IO' });
    expect(await ledger.closed).toMatchObject({ code: 'MW_LEDGER_IO' });
  });
});

describe('appendAll', () => {
  it('chains a group in order, in one partition, and resolves when it is durable', async () => {
    const file = tempFile();
    await using ledger = openLedger({ file, origin: 'test' });
    const first = await ledger.append(rec('before'), 2);
    const group = await ledger.appendAll(recs('g', 3), 2);
    expect(group.map((e) => [e.partition, e.seq, e.msgId])).toEqual([
      [2, 2, 'g0'],
      [2, 3, 'g1'],
      [2, 4, 'g2'],
    ]);
    expect(group.map((e) => e.prev)).toEqual([first.hash, group[0]!.hash, group[1]!.hash]);
    expect(rowCount(file)).toBe(4);
    expect(await ledger.appendAll([])).toEqual([]);
    expect(await ledger.verify()).toMatchObject({ ok: true, entries: 4 });
  });

  it('chains none of a group when one record has no canonical form', async () => {
    await using ledger = openLedger({ file: tempFile(), origin: 'test' });
    const bad = [rec('a'), { ...rec('b'), at: Number.NaN }];
    await expect(ledger.appendAll(bad)).rejects.toMatchObject({ code: 'MW_LEDGER_RECORD' });
    await expect(ledger.appendAll([rec('c')], -1)).rejects.toMatchObject({ code: 'MW_LEDGER_RECORD' });
    expect(await ledger.count()).toBe(0);
    expect(await ledger.append(rec('c'))).toMatchObject({ seq: 1 });
  });

  it('never lets a group straddle two batches', async () => {
    // Batches of 4: three single entries, then a group of three that would not fit. Seq 6, the
    // group's last entry, cannot be written: the whole group is lost, the singles before it are not.
    const file = fileFailingAt(6);
    const ledger = openLedger({ file, origin: 'test', batchSize: 4 });
    const singles = recs('s', 3).map((r) => ledger.append(r));
    const group = ledger.appendAll(recs('g', 3));
    expect((await Promise.all(singles)).map((e) => e.seq)).toEqual([1, 2, 3]);
    await expect(group).rejects.toMatchObject({ code: 'MW_LEDGER_IO' });
    expect(rowCount(file)).toBe(3);
  });

  it('commits a group larger than the batch size in one transaction', async () => {
    const file = fileFailingAt(6);
    const ledger = openLedger({ file, origin: 'test', batchSize: 2 });
    const single = ledger.append(rec('s'));
    const group = ledger.appendAll(recs('g', 5));
    expect(await single).toMatchObject({ seq: 1 });
    await expect(group).rejects.toMatchObject({ code: 'MW_LEDGER_IO' });
    expect(rowCount(file)).toBe(1);

    await using ok = openLedger({ file: tempFile(), origin: 'test', batchSize: 2 });
    expect((await ok.appendAll(recs('g', 5))).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(await ok.verify()).toMatchObject({ ok: true, entries: 5 });
  });
});

describe('a crashed commit worker', () => {
  it('rejects what it had not committed and reports the failure once', async () => {
    const file = tempFile();
    openLedger({ file, origin: 'test' }).close();
    const failures: MeshwardenError[] = [];
    const committer = committerOn(file, (err) => failures.push(err));
    const row = (seq: number) => [0, seq, 'k', 1, null, null, null, null, null, `{"seq":${seq}}`];
    const entry = (seq: number) => [{ kind: 'k', at: 1, data: {}, partition: 0, seq, prev: '', hash: '' }];
    const first = new Promise<void>((resolve, reject) => committer.send(entry(1), row(1), resolve, reject));
    await first;
    await committer.terminate();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ code: 'MW_LEDGER_IO' });
    const late = new Promise<void>((resolve, reject) => committer.send(entry(2), row(2), resolve, reject));
    await expect(late).rejects.toBe(failures[0]);
    committer.stop();
    expect(rowCount(file)).toBe(1);
  });
});

describe('a stuck commit worker', () => {
  it('fails what it holds once it commits nothing for too long, instead of leaving writers waiting', async () => {
    const file = tempFile();
    openLedger({ file, origin: 'test' }).close();
    // Another connection holds the write lock: the worker waits on it (its busy timeout is 5 s).
    const locker = new DatabaseSync(file);
    locker.exec('BEGIN EXCLUSIVE');
    const failures: MeshwardenError[] = [];
    const committer = committerOn(file, (err) => failures.push(err), { stuckAfterMs: 200 });
    const row = [0, 1, 'k', 1, null, null, null, null, null, '{"seq":1}'];
    const entry = [{ kind: 'k', at: 1, data: {}, partition: 0, seq: 1, prev: '', hash: '' }];
    const sent = new Promise<void>((resolve, reject) => committer.send(entry, row, resolve, reject));
    await expect(sent).rejects.toMatchObject({ code: 'MW_LEDGER_IO' });
    expect(failures).toHaveLength(1);
    expect(failures[0]!.message).toContain('did not answer within 0.2 s');
    locker.exec('ROLLBACK');
    locker.close();
    committer.stop();
    expect(rowCount(file)).toBe(0);
  });
});
