import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { all, conformanceRecord as rec } from './conformance.js';
import { openPostgresLedger } from './postgres.js';
import { firstOfEachSql } from './postgres-queries.js';
import { tablesOf } from './postgres-schema.js';
import { TEST_POSTGRES, tempPostgresSchemas } from './postgres-test-kit.js';

// What only the PostgreSQL adapter does; the shared behaviour is in postgres.conformance.test.ts.
const freshSchema = tempPostgresSchemas();

describe('PostgreSQL ledger', () => {
  it('fences a writer whose head is ahead of the store (a tail removed behind it): the prev check refuses it', async () => {
    const at = freshSchema();
    await using ledger = await openPostgresLedger({ location: at.location });
    await ledger.appendAll([rec('m1'), rec('m2'), rec('m3'), rec('m4')]);
    // Seq 5 is free, but entry 4, which its prev names, is gone: inserting would fork the chain.
    await at.query(`DELETE FROM "${at.schema}".entries WHERE seq >= 3`);
    await expect(ledger.append(rec('m5'))).rejects.toMatchObject({
      code: 'MW_LEDGER_FENCED',
      details: { partition: 0, seq: 5 },
    });
    expect(await ledger.fenced(0)).toMatchObject({ code: 'MW_LEDGER_FENCED' });
    const { rows } = await at.query(`SELECT seq FROM "${at.schema}".entries ORDER BY seq`);
    expect(rows.map((r) => Number(r.seq))).toEqual([1, 2]);
    // Adopting reads the stored head, and the chain goes on from there.
    expect(await ledger.adopt(0)).toMatchObject({ partition: 0, size: 2 });
    expect(await ledger.append(rec('m3'))).toMatchObject({ seq: 3 });
    expect(await ledger.verify()).toMatchObject({ ok: true, entries: 3 });
  });

  it('fences one partition: its queued and later appends fail, the other partitions keep committing', async () => {
    const at = freshSchema();
    // Batches of 4: the appends below queue several statements behind the one that is refused.
    await using a = await openPostgresLedger({ location: at.location, batchSize: 4 });
    await a.append(rec('a0'), 0);
    await a.append(rec('a1'), 1);
    // Another owner takes partition 1 over and appends to it.
    await using b = await openPostgresLedger({ location: at.location });
    expect(await b.adopt(1)).toMatchObject({ partition: 1, size: 1 });
    const b2 = await b.append(rec('b2'), 1);
    let told: unknown;
    void a.fenced(1).then((err) => {
      told = err;
    });
    const on0 = Array.from({ length: 10 }, (_, i) => a.append(rec(`x${i}`), 0));
    const on1 = Promise.allSettled(Array.from({ length: 10 }, (_, i) => a.append(rec(`y${i}`), 1)));
    const group = a.appendAll([rec('g1'), rec('g2')], 0);
    expect((await Promise.all(on0)).map((e) => e.seq)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(await group).toHaveLength(2);
    for (const r of await on1) {
      expect(r).toMatchObject({ status: 'rejected', reason: { code: 'MW_LEDGER_FENCED' } });
    }
    expect(told).toMatchObject({ code: 'MW_LEDGER_FENCED', details: { partition: 1, seq: 2 } });
    await expect(a.append(rec('y10'), 1)).rejects.toMatchObject({ code: 'MW_LEDGER_FENCED' });
    expect(a.heads().map((h) => h.partition)).toEqual([0]);
    expect(await a.append(rec('x10'), 0)).toMatchObject({ seq: 14 });
    // Taking it back: the stored head is b's, and b is the one fenced now.
    expect(await a.adopt(1)).toEqual({ partition: 1, size: 2, head: b2.hash });
    expect(await a.append(rec('y11'), 1)).toMatchObject({ seq: 3, prev: b2.hash });
    await expect(b.append(rec('b3'), 1)).rejects.toMatchObject({ code: 'MW_LEDGER_FENCED' });
    expect(await a.byMessage('y0')).toEqual([]);
    expect(await a.verify()).toMatchObject({ ok: true, entries: 17 });
  });

  it('commits partitions of two lanes side by side: a statement that waits holds only its own lane', async () => {
    const at = freshSchema();
    await using ledger = await openPostgresLedger({ location: at.location, lanes: 2, keyFile: at.keyFile });
    await ledger.append(rec('a1'), 0);
    await ledger.append(rec('b1'), 1);
    // Another session inserts partition 1's seq 2 and keeps its transaction open: lane 1's next
    // insert waits for it, as it would for a slow disk.
    const other = new pg.Client({ connectionString: TEST_POSTGRES });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(
        `INSERT INTO "${at.schema}".entries (partition, seq, kind, at, body, prev, hash) VALUES (1, 2, 'x', 0, '{}', 'x', 'x')`,
      );
      const settled: string[] = [];
      const b2 = ledger.append(rec('b2'), 1);
      void b2.then(() => settled.push('b2'));
      void ledger.flush().then(() => settled.push('flush'));
      // Lane 0 commits meanwhile, and adopts a partition of its own.
      expect(await ledger.append(rec('a2'), 0)).toMatchObject({ seq: 2 });
      expect(await ledger.adopt(2)).toMatchObject({ partition: 2, size: 0 });
      expect(await ledger.append(rec('c1'), 2)).toMatchObject({ seq: 1 });
      // What spans every lane waits for lane 1: a read's flush, a checkpoint's read of every head.
      void ledger.checkpoint().then(() => settled.push('checkpoint'));
      await new Promise((r) => setTimeout(r, 100));
      expect(settled).toEqual([]);
      await other.query('ROLLBACK');
      expect(await b2).toMatchObject({ seq: 2, msgId: 'b2' });
      await expect.poll(() => settled).toEqual(['b2', 'flush', 'checkpoint']);
    } finally {
      await other.end();
    }
    expect(await ledger.verify()).toMatchObject({ ok: true, entries: 5 });
  });

  it('fences a partition whose COPY of many megabytes, merged from many batches, waited on another writer that then took its seq', async () => {
    const at = freshSchema();
    await using ledger = await openPostgresLedger({ location: at.location, lanes: 1 });
    await ledger.append(rec('a1'), 0);
    await ledger.append(rec('b1'), 1);
    const [holdsA2, holdsB2] = [new pg.Client(TEST_POSTGRES), new pg.Client(TEST_POSTGRES)];
    await holdsA2.connect();
    await holdsB2.connect();
    const insertUncommitted = async (client: pg.Client, partition: number) => {
      await client.query('BEGIN');
      const sql = `INSERT INTO "${at.schema}".entries (partition, seq, kind, at, body, prev, hash) VALUES ($1, 2, 'x', 0, '{}', 'x', 'x')`;
      await client.query(sql, [partition]);
    };
    try {
      // Seq 2 of both chains is held by other sessions: a2's commit waits on the first, and the
      // batches of big b-entries appended meanwhile, tick by tick, queue behind it.
      await insertUncommitted(holdsA2, 0);
      await insertUncommitted(holdsB2, 1);
      const a2 = ledger.append(rec('a2'), 0);
      await new Promise((r) => setImmediate(r)); // a2 alone in its batch
      const big = 'z'.repeat(512 * 1024);
      const appends: Promise<unknown>[] = [];
      for (let i = 0; i < 20; i++) {
        appends.push(ledger.append(rec(`b${i + 2}`, undefined, { data: { big } }), 1));
        await new Promise((r) => setImmediate(r));
      }
      const settled = Promise.allSettled(appends);
      // a2 commits; the 20 batches go as one COPY of 10 MB, which waits on seq 2 of chain 1,
      // filling the socket, then fails on it once the other writer commits.
      await holdsA2.query('ROLLBACK');
      expect(await a2).toMatchObject({ seq: 2 });
      await new Promise((r) => setTimeout(r, 300));
      await holdsB2.query('COMMIT');
      for (const r of await settled)
        expect(r).toMatchObject({ status: 'rejected', reason: { code: 'MW_LEDGER_FENCED' } });
    } finally {
      await holdsA2.end();
      await holdsB2.end();
    }
    // The process and the other chain go on.
    expect(await ledger.append(rec('a3'), 0)).toMatchObject({ seq: 3 });
    expect(await ledger.fenced(1)).toMatchObject({ details: { partition: 1, seq: 2 } });
  });

  it('refuses appends to a partition while it is being adopted', async () => {
    const at = freshSchema();
    await using ledger = await openPostgresLedger({ location: at.location });
    await ledger.append(rec('m1'), 2);
    const adopting = ledger.adopt(2);
    await expect(ledger.append(rec('m2'), 2)).rejects.toMatchObject({ code: 'MW_LEDGER_ADOPTING' });
    expect(await ledger.append(rec('m3'), 1)).toMatchObject({ seq: 1 });
    expect(await adopting).toMatchObject({ size: 1 });
    expect(await ledger.append(rec('m4'), 2)).toMatchObject({ seq: 2 });
    await expect(ledger.adopt(-1)).rejects.toMatchObject({ code: 'MW_LEDGER_RECORD' });
  });

  it('refuses a checkpoint when a partition it holds moved on without it, and fences that partition', async () => {
    const at = freshSchema();
    await using a = await openPostgresLedger({ location: at.location, keyFile: at.keyFile });
    await a.append(rec('a1'), 0);
    await a.append(rec('a2'), 1);
    await using b = await openPostgresLedger({ location: at.location });
    await b.adopt(1);
    const b3 = await b.append(rec('b3'), 1);
    await expect(a.checkpoint()).rejects.toMatchObject({
      code: 'MW_LEDGER_FENCED',
      details: { partition: 1, seq: 2 },
    });
    expect(await a.fenced(1)).toMatchObject({ details: { partition: 1 } });
    // What it no longer holds it does not vouch for: the next checkpoint signs the stored heads.
    const cp = await a.checkpoint();
    expect(cp.partitions.map((p) => [p.partition, p.size, p.head])).toEqual([
      [0, 1, a.heads()[0]!.head],
      [1, 2, b3.hash],
    ]);
  });

  it('lets two writers race on one partition: one is fenced, every committed entry chains', async () => {
    const at = freshSchema();
    await using a = await openPostgresLedger({ location: at.location });
    await using b = await openPostgresLedger({ location: at.location });
    const race = (l: typeof a, name: string) =>
      Promise.allSettled(Array.from({ length: 50 }, (_, i) => l.append(rec(`${name}${i}`))));
    const [ra, rb] = await Promise.all([race(a, 'a'), race(b, 'b')]);
    const failed = [...ra, ...rb].filter((r) => r.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) {
      expect((f as PromiseRejectedResult).reason).toMatchObject({
        code: expect.stringMatching(/^MW_LEDGER_(FENCED|CLOSED)$/),
      });
    }
    await using reader = await openPostgresLedger({ location: at.location });
    const result = await reader.verify();
    expect(result).toMatchObject({ ok: true });
    expect(result.ok && result.entries).toBe(100 - failed.length);
  });

  it('lets writers own different partitions, and one checkpoint signs every head', async () => {
    const at = freshSchema();
    await using a = await openPostgresLedger({ location: at.location, keyFile: at.keyFile });
    await using b = await openPostgresLedger({ location: at.location });
    await a.append(rec('a1'), 0);
    await b.append(rec('b1'), 1);
    await b.append(rec('b2'), 1);
    const cp = await a.checkpoint();
    expect(cp.partitions.map((p) => [p.partition, p.size])).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expect(await b.verify()).toMatchObject({ ok: true, entries: 3, checkpoints: 1 });
  });

  it('streams scans and stored rows page by page, in order, past the page size', async () => {
    const at = freshSchema();
    await using ledger = await openPostgresLedger({ location: at.location, batchSize: 1000 });
    const n = 4_100;
    const pending = [];
    for (let i = 1; i <= n; i++) pending.push(ledger.append(rec(`m${i}`), i % 2));
    await Promise.all(pending);
    const scanned = await all(ledger.scan());
    expect(scanned).toHaveLength(n);
    // Partition 0 holds 2,050 entries: the pages cross from its last into partition 1.
    expect(scanned.slice(2049, 2052).map((e) => [e.partition, e.seq])).toEqual([
      [0, 2050],
      [1, 1],
      [1, 2],
    ]);
    expect(await all(ledger.scan({ partition: 1, afterSeq: 2000 }))).toHaveLength(50);
    expect(await ledger.verify()).toMatchObject({ ok: true, entries: n });
    expect(await ledger.count()).toBe(n);
  });

  it('finds a batch of ids by the id index on a table not analyzed yet, not by reading the whole table', async () => {
    const at = freshSchema();
    await using ledger = await openPostgresLedger({ location: at.location });
    await Promise.all(Array.from({ length: 3_000 }, (_, i) => ledger.append(rec(`m${i}`), i % 3)));
    const ids = Array.from({ length: 1_000 }, (_, i) => `m${i * 3}`);
    const found = await ledger.firstOfEach([...ids, 'absent']);
    expect([...found.keys()].sort()).toEqual([...ids].sort());
    // A new mesh's table has no statistics until autovacuum analyzes it, a minute later at best.
    const plan = await at.query(`EXPLAIN (FORMAT JSON) ${firstOfEachSql(tablesOf(at.schema))}`, [ids]);
    expect(JSON.stringify(plan.rows[0])).not.toContain('Seq Scan');
  });

  it('keeps its tables in the schema the option names, over the URL, and refuses a bad name', async () => {
    const at = freshSchema();
    const other = freshSchema();
    await using ledger = await openPostgresLedger({ location: at.location, schema: other.schema });
    await ledger.append(rec('m1'));
    const { rows } = await at.query(`SELECT count(*)::int AS n FROM "${other.schema}".entries`);
    expect(rows[0]!.n).toBe(1);
    await expect(openPostgresLedger({ location: at.location, schema: 'Bad-Name' })).rejects.toMatchObject({
      code: 'MW_LEDGER_LOCATION',
    });
  });

  it('stores any text as it was given: quotes, backslashes, braces, commas, control characters', async () => {
    const at = freshSchema();
    await using ledger = await openPostgresLedger({ location: at.location });
    const odd = 'a"b\\c{d},e NULL \u001f\u0001 ✓';
    const entries = await ledger.appendAll([
      rec('m1', undefined, { subject: odd, agent: `${odd}@1`, data: { text: odd, list: [odd, '\\'] } }),
      rec('m2', 'NULL', { correlationId: '' }),
    ]);
    expect(await ledger.byMessage('m1')).toEqual([entries[0]]);
    expect(await ledger.bySubject(odd)).toEqual([entries[0]]);
    expect(await ledger.byCausation('NULL')).toEqual([entries[1]]);
    expect(await ledger.verify()).toMatchObject({ ok: true, entries: 2 });
  });

  it('refuses a record with a NUL in a column and stays open; checkpoints need a key file', async () => {
    const at = freshSchema();
    await using ledger = await openPostgresLedger({ location: at.location });
    await expect(ledger.append(rec('m1', undefined, { subject: 'a\u0000b' }))).rejects.toMatchObject({
      code: 'MW_LEDGER_RECORD',
    });
    expect(await ledger.append(rec('m2'))).toMatchObject({ seq: 1 });
    await expect(ledger.checkpoint()).rejects.toMatchObject({ code: 'MW_LEDGER_KEY' });
  });

  it('fails to connect with MW_LEDGER_IO, never naming the password', async () => {
    const location = 'postgres://meshwarden:s3cret@127.0.0.1:1/test';
    const err = await openPostgresLedger({ location }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MW_LEDGER_IO' });
    expect((err as Error).message).not.toContain('s3cret');
    expect((err as Error).message).toContain('***');
  });
});
