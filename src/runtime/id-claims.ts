/**
 * The ids from outside (a root message's own id, a remote agent's event's) that a partition has
 * judged, shared by every partition's handler in this process: a message with one of them is judged
 * as a duplicate whatever its partition, while the ledger's reads may not see the first one yet.
 *
 * A read (`LedgerReader.byMessage`) sees every append made before it was called, so only a read
 * called before a claimed record was appended can miss it. A claim therefore holds until its record
 * is durable and every read in flight when it was claimed (of its id or another) has been used (the
 * handler that made it has judged with the answer, and looked at the claims then): two messages with
 * one id are never both admitted, however their reads and commits interleave.
 */
export type IdClaims = {
  /**
   * Registers reads of these ids, made right after this call; the returned function says their
   * answers were used (judged, or given up on). Call it once, whatever happens.
   */
  reading(ids: readonly string[]): () => void;
  /** Whether a message with this id was judged and a read might not see it yet. */
  has(id: string): boolean;
  /** Claims an id whose record was just appended, until `durable` settles and the reads in flight now are used. */
  claim(id: string, durable: Promise<unknown>): void;
};

export function createIdClaims(): IdClaims {
  // Counted: two holders of one id (a refused duplicate's id is not claimed, a forwarded event's may
  // be) each release their own claim.
  const held = new Map<string, number>();
  // The reads in flight, numbered as registered. A Set keeps insertion order and the numbers only
  // grow, so its first is the oldest. A claim waits for every read registered before it, not only
  // its own id's: a little longer than it must, for no allocation per id read (a busy node reads
  // thousands a second). A read that hangs holds every later claim with it until the ledger's query
  // timeout (65 s for PostgreSQL) ends it, as a commit that hangs holds its own claims until then.
  const inFlight = new Set<number>();
  let nextRead = 0;
  // Claims whose record is durable, waiting for the reads registered before them: by the number of
  // the first read registered after them.
  const waiting = new Map<number, string[]>();

  const oldestRead = (): number => {
    for (const n of inFlight) return n;
    return nextRead;
  };
  const release = (id: string) => {
    const left = (held.get(id) ?? 1) - 1;
    if (left === 0) held.delete(id);
    else held.set(id, left);
  };
  const releaseWaiting = () => {
    const oldest = oldestRead();
    for (const [mark, ids] of waiting) {
      if (mark > oldest) continue;
      waiting.delete(mark);
      for (const id of ids) release(id);
    }
  };

  return {
    reading(ids) {
      if (ids.length === 0) return () => {};
      const n = nextRead++;
      inFlight.add(n);
      return () => {
        const oldest = oldestRead() === n;
        if (!inFlight.delete(n)) return;
        // Only the oldest read's end can release a claim: none waits for a read after it alone.
        if (oldest && waiting.size > 0) releaseWaiting();
      };
    },
    has: (id) => held.has(id),
    claim(id, durable) {
      held.set(id, (held.get(id) ?? 0) + 1);
      // The record was appended just now: a read registered from here on sees it; one before may not.
      const mark = nextRead;
      const settled = () => {
        if (oldestRead() >= mark) return release(id);
        const ids = waiting.get(mark);
        if (ids === undefined) waiting.set(mark, [id]);
        else ids.push(id);
      };
      durable.then(settled, settled);
    },
  };
}
