import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainHash, leafHash } from './hash.js';
import { openLedger } from './sqlite.js';
import type { Checkpoint, LedgerRecord } from './types.js';

// An attacker with the file: a second connection rewriting rows with plain SQL.
let dir: string;
let pristine: string;
let exported: Checkpoint;
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
  exported = await ledger.checkpoint();
  await ledger.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the pristine ledger, tampered by `attack`, then verified through a fresh ledger. */
function verifyAfter(attack: (db: DatabaseSync) => void, checkpoints: readonly Checkpoint[] = []) {
  const file = join(dir, `copy-${copies++}.db`);
  copyFileSync(pristine, file);
  const db = new DatabaseSync(file);
  attack(db);
  db.close();
  const ledger = openLedger({ file, origin: 'tamper' });
  try {
    return ledger.verify({ checkpoints });
  } finally {
    ledger.close();
  }
}

const row = (db: DatabaseSync, seq: number, partition = 0) =>
  db.prepare('SELECT * FROM entries WHERE partition = ? AND seq = ?').get(partition, seq)!;
const set = (db: DatabaseSync, column: string, value: string | number, seq: number, partition = 0) =>
  db.prepare(`UPDATE entries SET ${column} = ? WHERE partition = ? AND seq = ?`).run(value, partition, seq);

describe('verify detects tampering', () => {
  it('passes an untouched ledger with its stored and an exported checkpoint', () => {
    expect(verifyAfter(() => {}, [exported])).toMatchObject({ ok: true, entries: 9, checkpoints: 2 });
  });

  it.each<[string, (db: DatabaseSync) => void, { problem: string; seq: number; partition?: number }]>([
    [
      'a changed body byte',
      (db) => set(db, 'body', String(row(db, 3).body).replace('deliver', 'delivex'), 3),
      { problem: 'hash-mismatch', seq: 3 },
    ],
    [
      'a changed hash',
      (db) => set(db, 'hash', `sha256:${'1'.repeat(64)}`, 3),
      { problem: 'hash-mismatch', seq: 3 },
    ],
    [
      'a changed prev',
      (db) => set(db, 'prev', String(row(db, 1).hash), 3),
      { problem: 'prev-mismatch', seq: 3 },
    ],
    [
      'a changed subject column',
      (db) => set(db, 'subject', 'account:9', 4),
      { problem: 'column-mismatch', seq: 4 },
    ],
    [
      'a changed msg_id column',
      (db) => set(db, 'msg_id', 'msg-99', 2),
      { problem: 'column-mismatch', seq: 2 },
    ],
    ['a changed kind column', (db) => set(db, 'kind', 'forged', 3), { problem: 'column-mismatch', seq: 3 }],
    ['a changed at column', (db) => set(db, 'at', 7, 5), { problem: 'column-mismatch', seq: 5 }],
    [
      'a deleted middle row',
      (db) => db.exec('DELETE FROM entries WHERE partition = 0 AND seq = 3'),
      { problem: 'sequence-gap', seq: 3 },
    ],
    [
      'a deleted first row',
      (db) => db.exec('DELETE FROM entries WHERE partition = 0 AND seq = 1'),
      { problem: 'sequence-gap', seq: 1 },
    ],
    [
      'a seq too large for a JS number',
      (db) => db.exec('UPDATE entries SET seq = 1152921504606846976 WHERE partition = 0 AND seq = 6'),
      { problem: 'sequence-gap', seq: 6 },
    ],
    [
      'a body that does not parse, with its hash recomputed',
      (db) => {
        set(db, 'body', '{"not json', 6);
        set(db, 'hash', chainHash(String(row(db, 6).prev), leafHash('{"not json')), 6);
      },
      { problem: 'malformed-row', seq: 6 },
    ],
    [
      'a cut tail after the stored checkpoint',
      (db) => db.exec('DELETE FROM entries WHERE partition = 0 AND seq = 6'),
      { problem: 'truncated', seq: 6 },
    ],
    [
      'a partition cut entirely',
      (db) => db.exec('DELETE FROM entries WHERE partition = 1'),
      { problem: 'truncated', seq: 3, partition: 1 },
    ],
    [
      'a forged stored checkpoint',
      (db) => {
        const body = String(db.prepare('SELECT body FROM checkpoints').get()!.body);
        db.prepare('UPDATE checkpoints SET body = ?').run(body.replace('"size":6', '"size":5'));
      },
      { problem: 'bad-signature', seq: 0 },
    ],
  ])('%s', (_, attack, expected) => {
    expect(verifyAfter(attack)).toMatchObject({ ok: false, partition: 0, ...expected });
  });

  it('catches a cut tail with an exported checkpoint after the stored ones are gone', () => {
    const cut = (db: DatabaseSync) => db.exec('DELETE FROM checkpoints; DELETE FROM entries WHERE seq = 6');
    expect(verifyAfter(cut)).toMatchObject({ ok: true });
    expect(verifyAfter(cut, [exported])).toMatchObject({
      ok: false,
      problem: 'truncated',
      partition: 0,
      seq: 6,
    });
  });

  it('catches a rewritten tail (cut, then different entries appended) as a checkpoint mismatch', async () => {
    const file = join(dir, `copy-${copies++}.db`);
    copyFileSync(pristine, file);
    const db = new DatabaseSync(file);
    db.exec('DELETE FROM checkpoints; DELETE FROM entries WHERE partition = 0 AND seq >= 5');
    db.close();
    await using ledger = openLedger({ file, origin: 'tamper' });
    await ledger.append({ ...record(5), data: { verdict: 'deny' } });
    await ledger.append(record(6));
    expect(ledger.verify()).toMatchObject({ ok: true });
    expect(ledger.verify({ checkpoints: [exported] })).toMatchObject({
      ok: false,
      problem: 'checkpoint-mismatch',
      partition: 0,
      seq: 6,
      expected: exported.partitions[0]!.head,
    });
  });

  it('rejects an exported checkpoint whose signature does not verify', () => {
    const forged = {
      ...exported,
      partitions: [{ ...exported.partitions[0]!, size: 4 }, exported.partitions[1]!],
    };
    expect(verifyAfter(() => {}, [forged])).toMatchObject({ ok: false, problem: 'bad-signature' });
    const resigned = { ...exported, signature: `${exported.signature.slice(0, -4)}AAAA` };
    expect(verifyAfter(() => {}, [resigned])).toMatchObject({ ok: false, problem: 'bad-signature' });
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
  it('fails on any single flipped byte of any text column of any row, at or before that row', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ROWS),
        fc.constantFrom(...TEXT_COLUMNS),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        ({ partition, seq }, column, position, mask) => {
          let applied = true;
          const result = verifyAfter((db) => {
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
