import { canonicalize, isMeshwardenError } from '../envelope/index.js';
import { verifyCheckpointSignature } from './checkpoint.js';
import { GENESIS } from './hash.js';
import type { LedgerReader } from './ports.js';
import type { Checkpoint, PartitionHead, StoredRow, VerifyResult } from './types.js';
import { checkEntry, type Failure, fail } from './verify-entry.js';

export type { StoredRow } from './types.js';

type Mark = { readonly size: number; readonly head: string; readonly index: number };

/**
 * Recomputes every partition's chain from `rows` (in (partition, seq) order) and checks it against
 * the checkpoints. Pure: every input is an argument. Stops at the first bad entry and names it.
 */
export function verifyChain(rows: Iterable<StoredRow>, checkpoints: readonly Checkpoint[]): VerifyResult {
  const verifier = createVerifier(checkpoints);
  if (verifier.failed !== undefined) return verifier.failed;
  for (const row of rows) {
    const bad = verifier.next(row);
    if (bad !== undefined) return bad;
  }
  return verifier.end();
}

/** Entries between two progress reports of a verify (a few tenths of a second of reading). */
export const VERIFY_PROGRESS_EVERY = 65_536;

/**
 * `verifyChain` over an async stream of rows, as a ledger reader yields them (`storedRows()`): the
 * same checks, one row at a time, so a ledger of any size is verified in bounded memory. Stops
 * reading (and releases the stream) at the first bad entry.
 */
export async function verifyRows(
  rows: AsyncIterable<StoredRow>,
  checkpoints: readonly Checkpoint[],
  onProgress?: (verified: number) => void,
): Promise<VerifyResult> {
  const verifier = createVerifier(checkpoints);
  if (verifier.failed !== undefined) return verifier.failed;
  let read = 0;
  for await (const row of rows) {
    const bad = verifier.next(row);
    if (bad !== undefined) return bad;
    if (++read % VERIFY_PROGRESS_EVERY === 0) onProgress?.(read);
  }
  return verifier.end();
}

/**
 * Verifies what a reader holds: its rows against its stored checkpoints and the given ones (an
 * exported checkpoint kept outside the data directory). A stored checkpoint that does not parse
 * fails as `bad-signature`, as a forged one would. A given one that is a stored one, byte for byte
 * once canonical (the copy kept outside of the one stored), is checked and counted once.
 */
export async function verifyLedger(
  reader: Pick<LedgerReader, 'storedRows' | 'checkpoints'>,
  extra: readonly Checkpoint[] = [],
  onProgress?: (verified: number) => void,
): Promise<VerifyResult> {
  let stored: Checkpoint[];
  try {
    stored = await reader.checkpoints();
  } catch (err) {
    if (!isMeshwardenError(err) || err.code !== 'MW_LEDGER_CHECKPOINT') throw err;
    const detail = `a stored checkpoint cannot be read: ${err.message}`;
    return { ok: false, entries: 0, problem: 'bad-signature', partition: 0, seq: 0, detail };
  }
  const seen = extra.length === 0 ? undefined : new Set(stored.map((cp) => canonicalize(cp)));
  const given = extra.filter((cp) => !seen?.has(canonicalize(cp)));
  return verifyRows(reader.storedRows(), [...stored, ...given], onProgress);
}

/** The chain checks as a state machine: `next` takes each row in order, `end` closes the last chain. */
type Verifier = {
  /** Set when a checkpoint's signature fails: nothing else is read. */
  readonly failed: Failure | undefined;
  next(row: StoredRow): Failure | undefined;
  end(): VerifyResult;
};

/** Each partition's checkpointed sizes, smallest first, and the partitions checkpoints name, in order. */
type Marks = { readonly byPartition: Map<number, Mark[]>; readonly partitions: number[] };

/** The checkpoints' marks, or the failure of the first checkpoint whose signature does not verify. */
function checkpointMarks(checkpoints: readonly Checkpoint[]): Marks | Failure {
  const marks = new Map<number, Mark[]>();
  for (const [index, cp] of checkpoints.entries()) {
    if (!verifyCheckpointSignature(cp)) {
      // No entry is at fault, so (0, 0); `detail` names the checkpoint.
      return fail(0, 'bad-signature', 0, 0, {
        detail: `checkpoint #${index + 1} (origin ${cp.origin}) has a signature that does not verify`,
      });
    }
    for (const p of cp.partitions) {
      if (p.size === 0) continue;
      const list = marks.get(p.partition) ?? [];
      list.push({ size: p.size, head: p.head, index });
      marks.set(p.partition, list);
    }
  }
  for (const list of marks.values()) list.sort((a, b) => a.size - b.size);
  return { byPartition: marks, partitions: [...marks.keys()].sort((a, b) => a - b) };
}

function createVerifier(checkpoints: readonly Checkpoint[]): Verifier {
  const read = checkpointMarks(checkpoints);
  if ('ok' in read) return { failed: read, next: () => read, end: () => read };
  const { byPartition: marks, partitions: marked } = read;

  const heads: PartitionHead[] = [];
  let entries = 0;
  let partition = -1;
  let last = 0;
  let lastHash = GENESIS;
  let pending: readonly Mark[] = [];
  let reached = 0; // index into `pending` of the next checkpoint size to reach
  let markedAt = 0; // index into `marked` of the next partition a checkpoint names

  // Ends the current partition: checkpoints beyond its size mean a cut tail.
  const finish = (): Failure | undefined => {
    if (partition < 0) return undefined;
    heads.push({ partition, size: last, head: lastHash });
    return reached < pending.length ? truncated(entries, partition, last, pending[reached]!) : undefined;
  };
  // Partitions a checkpoint names but no row has: cut entirely.
  const skipTo = (upTo: number): Failure | undefined => {
    while (markedAt < marked.length && marked[markedAt]! <= upTo) {
      const p = marked[markedAt++]!;
      if (p !== upTo && p !== partition) return truncated(entries, p, 0, marks.get(p)![0]!);
    }
    return undefined;
  };

  const step = (row: StoredRow): Failure | undefined => {
    if (row.partition !== partition) {
      if (!Number.isSafeInteger(row.partition) || row.partition < partition) {
        return fail(entries, 'malformed-row', Math.max(partition, 0), last + 1, {
          actual: String(row.partition),
          detail: `a row after entry ${last} of partition ${partition} has the invalid partition ${String(row.partition)}`,
        });
      }
      const bad = finish() ?? skipTo(row.partition);
      if (bad) return bad;
      partition = row.partition;
      last = 0;
      lastHash = GENESIS;
      pending = marks.get(partition) ?? [];
      reached = 0;
    }
    const seq = last + 1;
    const bad = checkEntry(row, seq, partition, lastHash, entries);
    if (bad !== undefined) return bad;
    while (reached < pending.length && pending[reached]!.size === seq) {
      const mark = pending[reached++]!;
      if (mark.head !== row.hash) {
        return fail(entries, 'checkpoint-mismatch', partition, seq, {
          expected: mark.head,
          actual: row.hash,
          detail: `entry ${seq} of partition ${partition} does not have the head hash checkpoint #${mark.index + 1} signed, so the chain was rewritten`,
        });
      }
    }
    last = seq;
    lastHash = row.hash;
    entries++;
    return undefined;
  };
  const end = (): VerifyResult => {
    const bad = finish() ?? skipTo(Number.MAX_SAFE_INTEGER);
    if (bad) return bad;
    return { ok: true, entries, heads, checkpoints: checkpoints.length };
  };
  return { failed: undefined, next: step, end };
}

function truncated(entries: number, partition: number, size: number, mark: Mark): Failure {
  return fail(entries, 'truncated', partition, mark.size, {
    expected: String(mark.size),
    actual: String(size),
    detail: `partition ${partition} has ${size} entries but checkpoint #${mark.index + 1} recorded ${mark.size}, so its tail was cut`,
  });
}
