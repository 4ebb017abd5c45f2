import type { LedgerEntry, LedgerReader } from '../ledger/index.js';

type Reader = Pick<LedgerReader, 'scan' | 'newestSeq'>;

/** How much older than the bound an entry may be and still be read: a clock that stepped back. */
export const CLOCK_SLACK_MS = 60 * 60 * 1000;

/** The time of entry `seq` of `partition` (the next one if it is gone), read by one seek. */
async function atOf(ledger: Reader, partition: number, seq: number): Promise<number | undefined> {
  for await (const e of ledger.scan({ partition, afterSeq: seq - 1 })) return e.at;
  return undefined;
}

/**
 * The last seq of `partition` whose entry is older than `since` (0 when none is): a chain's times
 * grow with its seq (but for a clock's steps back), so a binary search of seeks finds it, about
 * log2(size) of them, without reading the chain.
 */
export async function seqBefore(ledger: Reader, partition: number, since: number): Promise<number> {
  let lo = 0;
  let hi = await ledger.newestSeq(partition);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const at = await atOf(ledger, partition, mid);
    if (at === undefined || at >= since) hi = mid - 1;
    else lo = mid;
  }
  return lo;
}

/**
 * The entries of `kinds` in `partitions` from about `since` on (CLOCK_SLACK_MS earlier, to be
 * safe), partition by partition: what a restart reads instead of every entry of those kinds.
 */
export async function* scanSince(
  ledger: Reader,
  partitions: readonly number[],
  kinds: readonly string[],
  since: number,
): AsyncGenerator<LedgerEntry, void, undefined> {
  for (const partition of partitions) {
    const afterSeq = await seqBefore(ledger, partition, since - CLOCK_SLACK_MS);
    yield* ledger.scan({ partition, afterSeq, kinds });
  }
}
