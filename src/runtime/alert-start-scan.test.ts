import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Ledger, type LedgerRecord, openLedger } from '../ledger/index.js';
import type { AlertRoute } from '../policy/index.js';
import type { HoldState } from '../state/index.js';
import { DEAD_LETTER_LOOKBACK_MS, reconcileSince } from './alert-owed.js';
import { CLOCK_SLACK_MS, scanSince, seqBefore } from './alert-start-scan.js';

const NOW = 1_700_000_000_000;
const HOUR = 60 * 60 * 1000;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A SQLite ledger whose partition 0 holds one entry an hour up to NOW (every fifth an `alert.sent`). */
async function hourly(hours: number): Promise<Ledger> {
  const dir = mkdtempSync(join(tmpdir(), 'mw-alert-start-'));
  dirs.push(dir);
  const ledger = openLedger({ file: join(dir, 'l.db'), origin: 't' });
  const records: LedgerRecord[] = Array.from({ length: hours }, (_, i) => ({
    kind: i % 5 === 0 ? 'alert.sent' : 'decision',
    at: NOW - (hours - 1 - i) * HOUR,
    data: { n: i },
  }));
  await ledger.appendAll(records, 0);
  return ledger;
}

describe('seqBefore', () => {
  it.each([
    ['before every entry', NOW - 1000 * HOUR, 0],
    ['at the first entry', NOW - 99 * HOUR, 0],
    ['between entries', NOW - 49.5 * HOUR, 50],
    ['at an entry: the one before it', NOW - 10 * HOUR, 89],
    ['after every entry', NOW + HOUR, 100],
  ])('%s', async (_, since, expected) => {
    await using ledger = await hourly(100);
    expect(await seqBefore(ledger, 0, since)).toBe(expected);
  });

  it('an empty partition: 0', async () => {
    await using ledger = await hourly(3);
    expect(await seqBefore(ledger, 1, NOW)).toBe(0);
  });
});

describe('scanSince', () => {
  it('reads the kinds asked for from the bound on, less the clock slack, and nothing older', async () => {
    await using ledger = await hourly(100);
    const since = NOW - 20 * HOUR;
    const read = await Array.fromAsync(scanSince(ledger, [0, 1], ['alert.sent'], since));
    const all = await Array.fromAsync(ledger.scan({ kinds: ['alert.sent'] }));
    expect(read).toEqual(all.filter((e) => e.at >= since - CLOCK_SLACK_MS));
    expect(read.length).toBeLessThan(all.length);
  });
});

describe('reconcileSince', () => {
  const route = (dedupeMs: number): AlertRoute => ({
    id: 'r',
    on: ['hold.created'],
    sink: 's',
    severity: 'info',
    dedupeMs,
  });
  const hold = (heldAt: number) => ({ heldAt }) as HoldState;
  const open = (openedAt: number) => ({ state: { openedAt } });

  it.each<[string, AlertRoute[], number[], number[], number]>([
    ['nothing open: the dead-letter lookback', [route(0)], [], [], NOW - DEAD_LETTER_LOOKBACK_MS],
    ['a breaker opened before it: its opening', [route(0)], [NOW - 48 * HOUR], [], NOW - 48 * HOUR],
    ['a hold older still: the hold', [route(0)], [NOW - 48 * HOUR], [NOW - 72 * HOUR], NOW - 72 * HOUR],
    ['less the longest dedupe window', [route(0), route(HOUR)], [], [NOW - HOUR], NOW - 25 * HOUR],
  ])('%s', (_, routes, opened, held, expected) => {
    expect(reconcileSince(routes, opened.map(open), held.map(hold), NOW)).toBe(expected);
  });
});
