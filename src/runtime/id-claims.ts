/**
 * The ids from outside (a root message's own id, a remote agent's event's) that a partition has
 * judged, shared by every partition's handler in this process: a message with one of them is judged
 * as a duplicate whatever its partition, while the ledger's reads may not see the first one yet.
 *
 * A read (`LedgerReader.byMessage`) sees every append made before it was called, so only a read
 * called before a claimed record was appended can miss it. A claim therefore holds until its record
 * is durable and every read of its id that was in flight when it was claimed has been used (the
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
  // Per id, the reads in flight: each a promise that resolves once its answer was used.
  const reads = new Map<string, Set<Promise<void>>>();

  const release = (id: string) => {
    const left = (held.get(id) ?? 1) - 1;
    if (left === 0) held.delete(id);
    else held.set(id, left);
  };

  return {
    reading(ids) {
      if (ids.length === 0) return () => {};
      let resolve: () => void = () => {};
      const used = new Promise<void>((r) => {
        resolve = r;
      });
      for (const id of ids) {
        const pending = reads.get(id);
        if (pending === undefined) reads.set(id, new Set([used]));
        else pending.add(used);
      }
      let done = false;
      return () => {
        if (done) return;
        done = true;
        for (const id of ids) {
          const pending = reads.get(id);
          pending?.delete(used);
          if (pending?.size === 0) reads.delete(id);
        }
        resolve();
      };
    },
    has: (id) => held.has(id),
    claim(id, durable) {
      held.set(id, (held.get(id) ?? 0) + 1);
      // The record was appended just now: a read called from here on sees it; one in flight may not.
      const pending = reads.get(id);
      const written = durable.then(
        () => {},
        () => {},
      );
      const settled = pending === undefined ? written : Promise.all([written, ...pending]);
      settled.then(() => release(id));
    },
  };
}
