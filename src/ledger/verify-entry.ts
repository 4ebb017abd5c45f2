import { checkColumns } from './columns.js';
import { chainHash, leafHash } from './hash.js';
import type { StoredRow, VerifyProblem, VerifyResult } from './types.js';

/** What verification answers when it stops at a bad entry (or a bad checkpoint). */
export type Failure = Extract<VerifyResult, { ok: false }>;

/** A failure at (`partition`, `seq`), after `entries` good ones. */
export function fail(
  entries: number,
  problem: VerifyProblem,
  partition: number,
  seq: number,
  rest: { expected?: string; actual?: string; detail: string },
): Failure {
  return { ok: false, entries, problem, partition, seq, ...rest };
}

/**
 * One row's own checks as entry `seq` of `partition`, whose chain so far ends in `lastHash` (`entries`
 * good ones read in all): its seq is the next one, its body, prev and hash are text, prev is that
 * hash, its hash recomputes from body and prev, and its indexed columns copy its body.
 */
export function checkEntry(
  row: StoredRow,
  seq: number,
  partition: number,
  lastHash: string,
  entries: number,
): Failure | undefined {
  const where = `entry ${seq} of partition ${partition}`;
  if (row.seq !== seq) {
    const detail =
      seq === 1
        ? `${where} is missing: the chain starts at ${String(row.seq)}`
        : `${where} is missing: the next stored entry is ${String(row.seq)}`;
    return fail(entries, 'sequence-gap', partition, seq, {
      expected: String(seq),
      actual: String(row.seq),
      detail,
    });
  }
  if (typeof row.body !== 'string' || typeof row.prev !== 'string' || typeof row.hash !== 'string') {
    return fail(entries, 'malformed-row', partition, seq, {
      detail: `${where}: body, prev or hash is not text`,
    });
  }
  if (row.prev !== lastHash) {
    const of = seq === 1 ? 'the genesis value' : `the hash of entry ${seq - 1}`;
    return fail(entries, 'prev-mismatch', partition, seq, {
      expected: lastHash,
      actual: row.prev,
      detail: `${where}: prev is not ${of}`,
    });
  }
  const computed = chainHash(row.prev, leafHash(row.body));
  if (computed !== row.hash) {
    return fail(entries, 'hash-mismatch', partition, seq, {
      expected: computed,
      actual: row.hash,
      detail: `${where}: the stored hash is not the hash of its body and prev, so the entry was changed`,
    });
  }
  const column = checkColumns(row);
  if (column !== undefined) {
    return fail(entries, column.problem, partition, seq, {
      ...column.values,
      detail: `${where}: ${column.detail}`,
    });
  }
  return undefined;
}
