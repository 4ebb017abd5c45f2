import type { DatabaseSync, SQLOutputValue } from 'node:sqlite';
import { isMeshwardenError, type MeshwardenError } from '../envelope/index.js';
import { parseCheckpoint } from './checkpoint.js';
import { ledgerError } from './errors.js';
import { type EntryKey, keyPart } from './queries.js';
import type { Checkpoint, StoredRow } from './types.js';

/**
 * Every column of every entry in (partition, seq) order, as `verifyChain` reads them: after `after`
 * when given, `last` kept at the key read last (queries.ts, EntryKey).
 */
export function selectStoredRows(
  db: DatabaseSync,
  after?: EntryKey,
  last?: EntryKey,
): Generator<StoredRow, void, undefined> {
  const select = db.prepare(
    'SELECT partition, seq, kind, at, msg_id, causation_id, correlation_id, subject, agent, body, prev, hash ' +
      `FROM entries${after === undefined ? '' : ' WHERE (partition, seq) > (?, ?)'} ORDER BY partition, seq`,
  );
  // Tampered integers may not fit a JS number: read bigints, compare as numbers.
  select.setReadBigInts(true);
  const rows = after === undefined ? select.iterate() : select.iterate(after.partition, after.seq);
  return storedRows(rows, last);
}

/** Stored checkpoints, oldest first, or the error of the first one that does not parse. */
export function readCheckpoints(db: DatabaseSync): Checkpoint[] | MeshwardenError {
  const list: Checkpoint[] = [];
  for (const row of db.prepare('SELECT id, body FROM checkpoints ORDER BY id').all()) {
    const cp = parseCheckpoint(typeof row.body === 'string' ? row.body : null);
    if (isMeshwardenError(cp)) {
      return ledgerError('MW_LEDGER_CHECKPOINT', {
        problem: `stored checkpoint ${String(row.id)}: ${cp.message}`,
      });
    }
    list.push(cp);
  }
  return list;
}

export function* storedRows(
  rows: Iterator<Record<string, SQLOutputValue>>,
  last?: EntryKey,
): Generator<StoredRow, void, undefined> {
  try {
    for (let r = rows.next(); !r.done; r = rows.next()) {
      const row = r.value;
      if (last !== undefined) {
        last.partition = keyPart(row.partition);
        last.seq = keyPart(row.seq);
      }
      for (const column of ['partition', 'seq', 'at'] as const) {
        if (typeof row[column] === 'bigint') row[column] = Number(row[column]);
      }
      yield row as unknown as StoredRow;
    }
  } finally {
    rows.return?.();
  }
}
