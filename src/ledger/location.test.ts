import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../envelope/index.js';
import { openLedgerAt, sqliteFileOf } from './location.js';
import { tempPostgresSchemas } from './postgres-test-kit.js';
import { tempLedgerFiles } from './test-kit.js';

const tempFile = tempLedgerFiles('mw-location-');
const freshSchema = tempPostgresSchemas();
const record = { kind: 'decision', at: 1, msgId: 'a', data: {} };

describe('sqliteFileOf', () => {
  it.each([
    ['ledger.db', 'ledger.db'],
    ['file:ledger.db', 'ledger.db'],
    ['file:my%20ledger.db', 'my ledger.db'],
    ['file:data/l%C3%A9dger.db', 'data/lédger.db'],
    ['file:///tmp/my%20ledger.db', '/tmp/my ledger.db'],
    ['my%20ledger.db', 'my%20ledger.db'],
  ])('reads %s as the file %s (percent-escapes decoded in file: alone)', (location, file) => {
    expect(sqliteFileOf(location)).toBe(file);
  });

  it('refuses a malformed escape with MW_LEDGER_LOCATION', () => {
    expect(sqliteFileOf('file:bad%zzname.db')).toMatchObject({ code: 'MW_LEDGER_LOCATION' });
  });
});

describe('openLedgerAt', () => {
  it.each([
    ['a file path', (file: string) => file],
    ['a file: URL', (file: string) => pathToFileURL(file).href],
  ])('opens the SQLite adapter for %s', async (_, locate) => {
    const file = tempFile();
    const opened = await openLedgerAt(locate(file), { origin: 'here', durability: 'normal' });
    if (isMeshwardenError(opened)) throw opened;
    await using ledger = opened;
    expect(ledger.durability).toBe('normal');
    await ledger.append(record);
    const again = await openLedgerAt(file, { create: false });
    if (isMeshwardenError(again)) throw again;
    await using reader = again;
    expect(await reader.count()).toBe(1);
    expect((await reader.checkpoint()).origin).toBe('here');
  });

  it.each([
    ['a file path', (file: string) => file],
    ['a file: URL', (file: string) => pathToFileURL(file).href],
  ])('gives a reader of a missing file at %s MW_LEDGER_LOCATION, and makes no file', async (_, locate) => {
    const file = tempFile();
    expect(await openLedgerAt(locate(file), { create: false })).toMatchObject({
      code: 'MW_LEDGER_LOCATION',
      details: { file, missing: true },
    });
    expect(existsSync(file)).toBe(false);
  });

  it.each([
    ['postgres://meshwarden:s3cret@127.0.0.1:5432/test?schema=Not-A-Name'],
    ['postgres://meshwarden@127.0.0.1:5432/test?schema=Not-A-Name&password=s3cret'],
    ['postgres://meshwarden@127.0.0.1:5432/test?sslpassword=s3cret&schema=Not-A-Name'],
    ['mysql://meshwarden:s3cret@db.internal/ledger'],
    ['postgres://meshwarden:s3cret@127.0.0.1:5432/test?schema=pg_catalog'],
    ['postgres://meshwarden:s3cret@127.0.0.1:5432/test?schema=pg_temp_3'],
    ['postgres://meshwarden:s3cret@127.0.0.1:5432/test?schema=information_schema'],
    ['postgres://meshwarden:s3cret@127.0.0.1:5432/test?lanes=0'],
    ['postgres://meshwarden:s3cret@127.0.0.1:5432/test?lanes=2.5'],
    ['postgres://meshwarden:s3cret@127.0.0.1:5432/test?lanes=65'],
    ['postgres://meshwarden:s3cret@127.0.0.1:5432/test?lanes='],
    ['postgres://meshwarden:s3cret@127.0.0.1:5432/test?schem=mw_typo'],
    ['postgres://meshwarden:s3cret@127.0.0.1:5432/test?schema=mw&connect_timeout=5'],
    ['postgres:garbage'],
    ['postgres:/127.0.0.1:5432/test'],
    ['PostgreSQL:meshwarden:s3cret@127.0.0.1/test'],
    ['mysql:ledger'],
    ['https://ledger.example/'],
  ])('returns MW_LEDGER_LOCATION for %s, with no password in it', async (location) => {
    const result = await openLedgerAt(location);
    expect(isMeshwardenError(result)).toBe(true);
    expect(result).toMatchObject({ code: 'MW_LEDGER_LOCATION' });
    expect((result as Error).message).not.toContain('s3cret');
  });

  it('takes commit lanes from the URL (?lanes=), not passing them on to the server', async () => {
    const at = freshSchema();
    const opened = await openLedgerAt(`${at.location}&lanes=3`, { origin: 'here' });
    if (isMeshwardenError(opened)) throw opened;
    await using ledger = opened;
    // Three lanes, four partitions: partitions 0 and 3 share lane 0, each chain in order.
    const entries = await Promise.all(
      [0, 1, 2, 3, 0, 3].map((p, i) => ledger.append({ ...record, msgId: `m${i}` }, p)),
    );
    expect(entries.map((e) => [e.partition, e.seq])).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
      [3, 1],
      [0, 2],
      [3, 2],
    ]);
    expect(await ledger.verify()).toMatchObject({ ok: true, entries: 6 });
  });

  it.each([['postgres'], ['postgresql']])(
    'opens the PostgreSQL adapter for %s://…?schema=',
    async (scheme) => {
      const at = freshSchema();
      const location = at.location.replace(/^postgres:/, `${scheme}:`);
      const opened = await openLedgerAt(location, {
        origin: 'here',
        durability: 'normal',
        keyFile: at.keyFile,
      });
      if (isMeshwardenError(opened)) throw opened;
      await using ledger = opened;
      expect(ledger.durability).toBe('normal');
      await ledger.append(record);
      const again = await openLedgerAt(location, { create: false, keyFile: at.keyFile });
      if (isMeshwardenError(again)) throw again;
      await using reader = again;
      expect(await reader.count()).toBe(1);
      expect((await reader.checkpoint()).origin).toBe('here');
    },
  );

  it('refuses a second SQLite writer with MW_LEDGER_LOCKED naming this process, until the first closes', async () => {
    const file = tempFile();
    const first = await openLedgerAt(file, { origin: 'here' });
    if (isMeshwardenError(first)) throw first;
    const second = await openLedgerAt(file, { origin: 'here' });
    expect(second).toMatchObject({ code: 'MW_LEDGER_LOCKED' });
    expect((second as Error).message).toContain(`process ${process.pid}`);
    await first.close();
    const third = await openLedgerAt(file, { origin: 'here' });
    if (isMeshwardenError(third)) throw third;
    await third.close();
  });

  it('refuses a second PostgreSQL writer on one schema with MW_LEDGER_LOCKED; readers still open', async () => {
    const at = freshSchema();
    const opts = { origin: 'here', keyFile: at.keyFile };
    const first = await openLedgerAt(at.location, opts);
    if (isMeshwardenError(first)) throw first;
    await first.append(record);
    const second = await openLedgerAt(at.location, opts);
    expect(second).toMatchObject({
      code: 'MW_LEDGER_LOCKED',
      details: { holder: expect.stringContaining(`meshwarden writer pid ${process.pid}`) },
    });
    const reader = await openLedgerAt(at.location, { create: false, keyFile: at.keyFile });
    if (isMeshwardenError(reader)) throw reader;
    expect(await reader.count()).toBe(1);
    await reader.close();
    await first.close();
    const third = await openLedgerAt(at.location, opts);
    if (isMeshwardenError(third)) throw third;
    await third.close();
  });

  it("lets a mesh's nodes write one PostgreSQL schema together, never with an embedded writer", async () => {
    const at = freshSchema();
    const node = { origin: 'here', keyFile: at.keyFile, shared: true };
    const a = await openLedgerAt(at.location, node);
    if (isMeshwardenError(a)) throw a;
    const b = await openLedgerAt(at.location, node);
    if (isMeshwardenError(b)) throw b;
    const embedded = await openLedgerAt(at.location, { origin: 'here', keyFile: at.keyFile });
    expect(embedded).toMatchObject({
      code: 'MW_LEDGER_CLUSTERED',
      details: { holder: expect.stringContaining(`meshwarden node pid ${process.pid}`) },
    });
    await a.close();
    await b.close();
    const writer = await openLedgerAt(at.location, { origin: 'here', keyFile: at.keyFile });
    if (isMeshwardenError(writer)) throw writer;
    expect(await openLedgerAt(at.location, node)).toMatchObject({
      code: 'MW_LEDGER_LOCKED',
      details: { holder: expect.stringContaining(`meshwarden writer pid ${process.pid}`) },
    });
    await writer.close();
  });

  it('refuses a node of another mesh while that mesh is here or has written the ledger', async () => {
    const at = freshSchema();
    const node = (origin: string) => openLedgerAt(at.location, { origin, keyFile: at.keyFile, shared: true });
    const refused = (stored: string, origin: string) => ({
      code: 'MW_LEDGER_OTHER_MESH',
      details: { stored, origin },
    });
    // A schema whose opener wrote nothing and is gone (it was refused later) is no one's yet.
    const gone = await node('first');
    if (isMeshwardenError(gone)) throw gone;
    await gone.close();
    // One whose opener is still here, joining before it writes, is that mesh's.
    const mesh = await node('retention');
    if (isMeshwardenError(mesh)) throw mesh;
    expect(await node('retention-b')).toMatchObject(refused('retention', 'retention-b'));
    await mesh.append(record);
    expect(await node('retention-b')).toMatchObject(refused('retention', 'retention-b'));
    await mesh.close();
    // Written to, it stays that mesh's with no one there.
    expect(await node('retention-b')).toMatchObject(refused('retention', 'retention-b'));
    const again = await node('retention');
    if (isMeshwardenError(again)) throw again;
    expect(await again.count()).toBe(1);
    await again.close();
  });

  it("refuses a PostgreSQL schema whose tables are another application's, as MW_LEDGER_LOCATION", async () => {
    const at = freshSchema();
    await at.query(`CREATE SCHEMA "${at.schema}"`);
    await at.query(`CREATE TABLE "${at.schema}".entries (id serial PRIMARY KEY, note text)`);
    const opened = await openLedgerAt(at.location, { origin: 'here', keyFile: at.keyFile });
    expect(opened).toMatchObject({ code: 'MW_LEDGER_LOCATION' });
    expect((opened as Error).message).toContain('not a Meshwarden ledger');
    // The lock went with the refusal: a writer of a schema of its own is not held up.
    await at.query(`DROP TABLE "${at.schema}".entries`);
    const retried = await openLedgerAt(at.location, { origin: 'here', keyFile: at.keyFile });
    if (isMeshwardenError(retried)) throw retried;
    await retried.close();
  });

  it('refuses, as a value, to read a PostgreSQL schema that holds no ledger, and creates nothing', async () => {
    const at = freshSchema();
    expect(await openLedgerAt(at.location, { create: false })).toMatchObject({ code: 'MW_LEDGER_LOCATION' });
    const { rows } = await at.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [at.schema]);
    expect(rows).toEqual([]);
  });
});
