import type { LedgerEntry } from './types.js';

// Lineage and impact as walks over two lookups every adapter answers: a message's first entry, and
// the ids of the messages it caused. One walk for every adapter, synchronous lookups or not.

/** Lineage and impact stop after this many messages; so do the by-subject and by-agent lists by default. */
export const QUERY_CAP = 100_000;

type Lookup<T> = (msgId: string) => T | Promise<T>;

/** The first entry of each message from the root down to `msgId`, following causation back. */
export async function walkLineage(
  msgId: string,
  first: Lookup<LedgerEntry | undefined>,
): Promise<LedgerEntry[]> {
  // `seen` stops a cycle that only a tampered ledger could hold.
  const chain: LedgerEntry[] = [];
  const seen = new Set<string>();
  for (let id: string | undefined = msgId; id !== undefined && !seen.has(id) && chain.length < QUERY_CAP; ) {
    seen.add(id);
    const entry = await first(id);
    if (entry === undefined) break;
    chain.push(entry);
    id = entry.causationId;
  }
  return chain.reverse();
}

/** The first entry of every message caused, directly or not, by `msgId`, breadth first. */
export async function walkImpact(
  msgId: string,
  first: Lookup<LedgerEntry | undefined>,
  consequences: Lookup<readonly string[]>,
): Promise<LedgerEntry[]> {
  const found: LedgerEntry[] = [];
  const seen = new Set<string>([msgId]);
  const queue = [msgId];
  for (let i = 0; i < queue.length && found.length < QUERY_CAP; i++) {
    for (const id of await consequences(queue[i]!)) {
      if (seen.has(id)) continue;
      seen.add(id);
      const entry = await first(id);
      if (entry === undefined) continue;
      found.push(entry);
      queue.push(id);
      if (found.length >= QUERY_CAP) break;
    }
  }
  return found;
}
