import { describe, expect, it } from 'vitest';
import { all, conformanceRecord as rec } from './conformance.js';
import { openPostgresLedger } from './postgres.js';
import { tempPostgresSchemas } from './postgres-test-kit.js';

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
    expect(await ledger.closed).toMatchObject({ code: 'MW_LEDGER_FENCED' });
    const { rows } = await at.query(`SELECT seq FROM "${at.schema}".entries ORDER BY seq`);
    expect(rows.map((r) => Number(r.seq))).toEqual([1, 2]);
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
