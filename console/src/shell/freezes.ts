import type { Breaker, Hold } from '../api/types.js';

/**
 * The freezes open now that hold `hold`'s kind of message: a freeze keyed by its subject (the loop
 * guard's, a pilot's, an entity breaker's), by its sender (an agent breaker), by a path from its
 * sender (an edge breaker: `sender->target` or `sender->type`; a hold does not name its target, so
 * every path from the sender counts, a warning too many rather than one too few) or the whole mesh
 * (`*`). The key alone says the scope: GET /breakers keys are built that way (gate's scopeKeyOf).
 */
export function freezesOf(hold: Pick<Hold, 'subject' | 'source'>, breakers: readonly Breaker[]): Breaker[] {
  const sender = senderName(hold.source);
  return breakers.filter(
    (b) =>
      b.action === 'freeze' &&
      (b.key === hold.subject || b.key === sender || b.key === '*' || b.key.startsWith(`${sender}->`)),
  );
}

/** What a freeze stops, in words: "account:8841", "agent discount", "the path a->b", "the whole mesh". */
export function frozenWhat(b: Breaker, subject: string): string {
  // The loop guard and a pilot freeze subjects only.
  if (b.key === subject || b.id === 'loop' || b.id === 'pilot') return b.key;
  if (b.key === '*') return 'the whole mesh';
  if (b.key.includes('->')) return `the path ${b.key}`;
  return `agent ${b.key}`;
}

/** The sender's name as the gate keys it: `discount` for `mesh://retention/discount@1.1.0`. */
function senderName(source: string): string {
  const m = /^mesh:\/\/[A-Za-z0-9._-]+\/([A-Za-z0-9._-]+)(?:@[A-Za-z0-9.+_-]+)?$/.exec(source);
  return m === null ? source : m[1]!;
}

/** What a verdict's freeze is known by: its reason, stage and rule, and whom it was about. */
type FrozenVerdict = Pick<Hold, 'subject' | 'source' | 'reason' | 'stage' | 'rule'>;

/**
 * Whether the freeze that held a message (a freeze, a breaker's trip, the loop guard) is gone now:
 * its sentence is then told as what was true when it was decided. False while the breakers are not
 * known (`open` undefined), and for a hold by anything else (an approval rule). For a held message
 * only: the caller checks the verdict was a hold (verdict-tense.ts), as every Held card is.
 */
export function freezeGone(v: FrozenVerdict, open: readonly Breaker[] | undefined): boolean {
  const byFreeze = v.reason === 'breaker.frozen' || v.reason === 'breaker.tripped' || v.stage === 'loop';
  return byFreeze && open !== undefined && !freezesOf(v, open).some((b) => b.id === v.rule);
}
