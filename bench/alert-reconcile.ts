// What a restart reads to find the alerts a crash lost (docs/alerts.md "Across a crash"): every
// `alert.sent` and `dead-letter` entry, against only those from the bound on (alert-start-scan.ts).
// A SQLite ledger of 100,000 entries, 10,000 of them `alert.sent`, spread over 30 days; runs alone
// on the built dist/: `node bench/alert-reconcile.ts [entries]`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LedgerRecord, openLedger } from '../dist/ledger/index.js';
import { readStartEntries } from '../dist/runtime/alert-owed.js';
import { scanSince } from '../dist/runtime/alert-start-scan.js';

const ENTRIES = Number(process.argv[2] ?? 100_000);
const EVERY = 10; // one alert.sent in ten
const DAY = 24 * 60 * 60 * 1000;
const now = Date.UTC(2026, 0, 31);
const start = now - 30 * DAY;
const kinds = ['alert.sent', 'dead-letter'];

const dir = mkdtempSync(join(tmpdir(), 'meshwarden-bench-reconcile-'));
try {
  await using ledger = await openLedger({ file: join(dir, 'ledger.db') });
  const batch: LedgerRecord[] = [];
  for (let i = 0; i < ENTRIES; i++) {
    const at = start + Math.floor((i * 30 * DAY) / ENTRIES);
    batch.push(
      i % EVERY === 0
        ? {
            kind: 'alert.sent',
            at,
            msgId: `m${i}`,
            data: { route: 'holds', event: 'hold.created', key: `r|account:${i % 500}`, outcome: 'sent' },
          }
        : { kind: 'decision', at, msgId: `m${i}`, subject: `account:${i % 500}`, data: { n: i } },
    );
    if (batch.length === 1_000) await ledger.appendAll(batch.splice(0));
  }
  await ledger.flush();

  const timed = async (name: string, entries: () => AsyncIterable<unknown>) => {
    let best = Infinity;
    let read = 0;
    for (let r = 0; r < 5; r++) {
      const began = performance.now();
      const folded = await readStartEntries(entries() as never);
      best = Math.min(best, performance.now() - began);
      read = folded.lastSent.size;
    }
    return { name, bestMs: Math.round(best * 10) / 10, keys: read };
  };
  const counted = async (entries: AsyncIterable<unknown>) => {
    let n = 0;
    for await (const _ of entries) n++;
    return n;
  };
  const since = now - DAY;
  const results = [
    {
      ...(await timed('every alert.sent (before)', () => ledger.scan({ kinds }))),
      entriesRead: await counted(ledger.scan({ kinds })),
    },
    {
      ...(await timed('from the bound, now - 24 h (after)', () => scanSince(ledger, [0], kinds, since))),
      entriesRead: await counted(scanSince(ledger, [0], kinds, since)),
    },
  ];
  console.table(results);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
