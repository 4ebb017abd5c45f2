import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../envelope/index.js';
import { openLedgerAt } from './location.js';
import { tempLedgerFiles } from './test-kit.js';

const tempFile = tempLedgerFiles('mw-location-');
const record = { kind: 'decision', at: 1, msgId: 'a', data: {} };

describe('openLedgerAt', () => {
  it.each([
    ['a file path', (file: string) => file],
    ['a file: URL', (file: string) => pathToFileURL(file).href],
  ])('opens the SQLite adapter for %s', async (_, locate) => {
    const file = tempFile();
    const opened = openLedgerAt(locate(file), { origin: 'here', durability: 'normal' });
    if (isMeshwardenError(opened)) throw opened;
    await using ledger = opened;
    expect(ledger.durability).toBe('normal');
    await ledger.append(record);
    const again = openLedgerAt(file);
    if (isMeshwardenError(again)) throw again;
    await using reader = again;
    expect(await reader.count()).toBe(1);
    expect((await reader.checkpoint()).origin).toBe('here');
  });

  it.each([
    ['postgres://meshwarden:s3cret@db.internal:5432/ledger'],
    ['postgresql://db.internal/ledger'],
    ['mysql://db.internal/ledger'],
    ['https://ledger.example/'],
  ])('returns MW_LEDGER_LOCATION for %s, with no password in it', (location) => {
    const result = openLedgerAt(location);
    expect(isMeshwardenError(result)).toBe(true);
    expect(result).toMatchObject({ code: 'MW_LEDGER_LOCATION' });
    expect((result as Error).message).not.toContain('s3cret');
  });
});
