import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { databaseFiles } from './modes.js';
import { openLedger } from './sqlite.js';
import { tempLedgerFiles } from './test-kit.js';

const tempFile = tempLedgerFiles('mw-modes-');
const modeOf = (file: string) => statSync(file).mode & 0o777;
const record = { kind: 'policy.loaded', at: 1_732_000_000_000, data: { digest: 'x' } };

describe('ledger file modes', () => {
  it('creates the database, its -wal and -shm, and the checkpoint key 0600', async () => {
    const file = tempFile();
    await using ledger = openLedger({ file, origin: 'test' });
    await ledger.append(record);
    await ledger.checkpoint();
    // While the ledger is open, SQLite keeps the -wal and -shm next to the database.
    const files = [...databaseFiles(file), join(dirname(file), 'ledger.key')];
    for (const f of files) expect(existsSync(f), f).toBe(true);
    expect(files.map(modeOf)).toEqual(files.map(() => 0o600));
  });

  it('tightens existing files that others can read when the ledger opens', async () => {
    const file = tempFile();
    const key = join(dirname(file), 'ledger.key');
    await using writer = openLedger({ file, origin: 'test' });
    await writer.append(record);
    await writer.checkpoint();
    const files = [...databaseFiles(file), key];
    for (const f of files) chmodSync(f, 0o644);
    // A second connection (the CLI next to a running mesh) opening it is enough.
    await using reader = openLedger({ file });
    expect(await reader.count()).toBe(1);
    expect(files.map(modeOf)).toEqual(files.map(() => 0o600));
  });

  it('keeps the owner bits it finds, and leaves an owner-only file alone', async () => {
    const file = tempFile();
    const key = join(dirname(file), 'other.key');
    writeFileSync(key, 'not read until a checkpoint', { mode: 0o400 });
    chmodSync(key, 0o400);
    await openLedger({ file, keyFile: key }).close();
    expect(modeOf(key)).toBe(0o400);
    chmodSync(key, 0o755);
    await openLedger({ file, keyFile: key }).close();
    expect(modeOf(key)).toBe(0o700);
  });
});

describe('ledger durability', () => {
  it('is full unless told otherwise', async () => {
    await using full = openLedger({ file: tempFile() });
    await using normal = openLedger({ file: tempFile(), durability: 'normal' });
    expect([full.durability, normal.durability]).toEqual(['full', 'normal']);
  });
});
