import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from './sqlite.js';
import type { LedgerRecord } from './types.js';

// An attacker with the file: a second connection rewriting rows with plain SQL.
let dir: string;
let pristine: string;
let copies = 0;

const record = (i: number): LedgerRecord => ({
  kind: i % 3 === 0 ? 'delivered' : 'decision',
  at: 1_732_000_000_000 + i,
  msgId: `msg-${i}`,
  ...(i > 0 ? { causationId: `msg-${i - 1}` } : {}),
  correlationId: 'msg-0',
  subject: `account:${i % 2}`,
  agent: 'churn@2.0.1',
  data: { verdict: 'deliver', amount: i * 12.5, note: 'ünïcode ✓' },
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mw-tamper-'));
  pristine = join(dir, 'pristine.db');
  const ledger = openLedger({ file: pristine, origin: 'tamper' });
  for (let i = 0; i < 6; i++) ledger.append(record(i));
  for (let i = 6; i < 9; i++) ledger.append(record(i), 1);
  await ledger.checkpoint();
  await ledger.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the pristine ledger, tampered by `attack`, then verified through a fresh ledger. */
async function verifyAfter(attack: (db: DatabaseSync) => void) {
  const file = join(dir, `copy-${copies++}.db`);
  copyFileSync(pristine, file);
  const db = new DatabaseSync(file);
  attack(db);
  db.close();
  await using ledger = openLedger({ file, origin: 'tamper' });
  return await ledger.verify();
}

// Every tampering an adapter must detect is in the conformance suite (sqlite.conformance.test.ts);
// these are SQLite's own: integers past a JS number, and bytes flipped in any text column.
describe('verify detects tampering', () => {
  it('a seq too large for a JS number', async () => {
    const attack = (db: DatabaseSync) =>
      db.exec('UPDATE entries SET seq = 1152921504606846976 WHERE partition = 0 AND seq = 6');
    expect(await verifyAfter(attack)).toMatchObject({
      ok: false,
      partition: 0,
      problem: 'sequence-gap',
      seq: 6,
    });
  });
});

const TEXT_COLUMNS = [
  'kind',
  'msg_id',
  'causation_id',
  'correlation_id',
  'subject',
  'agent',
  'body',
  'prev',
  'hash',
];
const ROWS = [
  ...[1, 2, 3, 4, 5, 6].map((seq) => ({ partition: 0, seq })),
  ...[1, 2, 3].map((seq) => ({ partition: 1, seq })),
];

describe('verify, property', () => {
  it('fails on any single flipped byte of any text column of any row, at or before that row', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROWS),
        fc.constantFrom(...TEXT_COLUMNS),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async ({ partition, seq }, column, position, mask) => {
          let applied = true;
          const result = await verifyAfter((db) => {
            const where = 'WHERE partition = ? AND seq = ?';
            const value = db
              .prepare(`SELECT CAST(${column} AS BLOB) AS v FROM entries ${where}`)
              .get(partition, seq)!.v;
            if (!(value instanceof Uint8Array) || value.length === 0) {
              applied = false; // NULL column (a root has no causation): nothing to flip
              return;
            }
            const bytes = Uint8Array.from(value);
            bytes[position % bytes.length]! ^= mask;
            db.prepare(`UPDATE entries SET ${column} = CAST(? AS TEXT) ${where}`).run(bytes, partition, seq);
          });
          if (!applied) return;
          expect(result.ok).toBe(false);
          if (result.ok) return;
          expect(result.partition).toBe(partition);
          expect(result.seq).toBeLessThanOrEqual(seq);
        },
      ),
      { numRuns: 300 },
    );
  });
});
