// node bench/subject-lookup.ts [entries=1000000] [--subjects 100000]: the SQLite ledger's lookup by
// subject (docs/ledger.md, "Storage"). Appends `entries` entries of about 1 KB over 4 partitions,
// then times: `bySubject` (limit 100) with 130,000 entries past the lookup's mark (the commit worker
// fills it once 131,072 are, all partitions together), found through the tail's index, then by the
// primary key as in a file without that index (a reader's, until its writer opens it); after the
// close filled it; the writer's open that builds the tail's index on a ledger made before it; and the
// open of a ledger as schema version 1 left it (the index `entries_subject` made again, the lookup's
// tables dropped, the file marked version 1), which moves the index's keys into the table. Needs a
// build (`npm run build`); not part of `npm run bench`. Writes bench/results/subject-lookup.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import { type Ledger, type LedgerRecord, openLedger } from '../dist/ledger/index.js';
import { round } from './stats.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { subjects: { type: 'string', default: '100000' } },
});
const entries = Number(positionals[0] ?? 1_000_000);
const subjects = Number(values.subjects);
const PARTITIONS = 4;
const PAST_MARK = 130_000;
const progress = (text: string) => process.stderr.write(`${text}\n`);

const body = 'x'.repeat(800);
const record = (i: number): LedgerRecord => ({
  kind: 'decision',
  at: 1_764_000_000_000 + i,
  msgId: `m${i}`,
  subject: `entity:${i % subjects}`,
  data: { body },
});

async function append(ledger: Ledger, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 10_000) {
    const n = Math.min(10_000, to - i);
    await Promise.all(
      Array.from({ length: n }, (_, j) => ledger.append(record(i + j), (i + j) % PARTITIONS)),
    );
  }
}

/** Mean ms of `bySubject` for 200 subjects, limit 100. */
async function lookups(ledger: Ledger): Promise<number> {
  const began = performance.now();
  for (let k = 0; k < 200; k++) await ledger.bySubject(`entity:${(k * 7_919) % subjects}`, { limit: 100 });
  return round((performance.now() - began) / 200, 3);
}

const dir = mkdtempSync(join(tmpdir(), 'meshwarden-bench-subjects-'));
const file = join(dir, 'ledger.db');
try {
  progress(
    `subject lookup: appending ${entries.toLocaleString('en')} entries over ${PARTITIONS} partitions …`,
  );
  let ledger = openLedger({ file, origin: 'bench' });
  await append(ledger, 0, entries);
  await ledger.close();
  // Closed, so filled: the next 130,000 stay past the mark.
  ledger = openLedger({ file, origin: 'bench' });
  await append(ledger, entries, entries + PAST_MARK);
  await ledger.flush();
  const pastMarkMs = await lookups(ledger);
  // As a file made before the tail's index, read by a reader (which does not build it).
  const bare = new DatabaseSync(file);
  bare.exec('DROP INDEX entries_subject_tail');
  bare.close();
  const reader = openLedger({ file, origin: 'bench', upgrade: false });
  const pastMarkByKeyMs = await lookups(reader);
  await reader.close();
  await ledger.close();
  progress("subject lookup: the tail's index built by the writer's open …");
  const building = performance.now();
  ledger = openLedger({ file, origin: 'bench' });
  const tailIndexSeconds = round((performance.now() - building) / 1000, 2);
  const filledMs = await lookups(ledger);
  await ledger.close();

  progress('subject lookup: the schema as it was (an index on entries), opened again …');
  const db = new DatabaseSync(file);
  db.exec(`DROP TABLE subject_entries; DROP TABLE subject_filled; DROP INDEX entries_subject_tail;
    CREATE INDEX entries_subject ON entries (subject, partition, seq) WHERE subject IS NOT NULL;
    UPDATE meta SET value = '1' WHERE key = 'schema'`);
  db.close();
  const began = performance.now();
  ledger = openLedger({ file, origin: 'bench' });
  const moveSeconds = round((performance.now() - began) / 1000, 2);
  const movedMs = await lookups(ledger);
  await ledger.close();

  const results = {
    at: new Date().toISOString(),
    node: process.version,
    entries: entries + PAST_MARK,
    subjects,
    partitions: PARTITIONS,
    lookupMs: { pastMark: pastMarkMs, pastMarkByKey: pastMarkByKeyMs, filled: filledMs, afterMove: movedMs },
    pastMark: PAST_MARK,
    tailIndexSeconds,
    moveSeconds,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/subject-lookup.json', `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(
    `bySubject (limit 100), mean ms: ${pastMarkMs} with ${PAST_MARK.toLocaleString('en')} entries past the mark ` +
      `(${pastMarkByKeyMs} without the tail's index), ${filledMs} filled; ` +
      `the writer's open that builds the tail's index: ${tailIndexSeconds} s; ` +
      `open of the older schema (moves the index): ${moveSeconds} s for ${results.entries.toLocaleString('en')} entries\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
