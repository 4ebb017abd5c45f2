import type { LedgerReader } from '../ledger/index.js';
import { type ChainLink, toChainLink } from './lineage.js';
import { ENTRY } from './records.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a search text names: a message id, an agent version (`churn@1.0.0`), else a subject. */
export type SearchKind = 'message' | 'subject' | 'agent';

export type SearchResult = { readonly q: string; readonly kind: SearchKind; readonly results: ChainLink[] };

/**
 * The messages `q` names, newest first, at most `limit`, one link each (its decision; a released
 * hold adds no second one): the console's search (`GET /search`), and the CLI's hint when `why` is
 * given a subject or an agent version instead of a message id.
 */
export async function searchLedger(ledger: LedgerReader, q: string, limit = 100): Promise<SearchResult> {
  const kind: SearchKind = UUID.test(q) ? 'message' : q.includes('@') ? 'agent' : 'subject';
  const entries = await (kind === 'message'
    ? ledger.byMessage(q)
    : kind === 'agent'
      ? ledger.byAgent(q, { limit: limit * 4 })
      : ledger.bySubject(q, { limit: limit * 4 }));
  const seen = new Set<string>();
  const results: ChainLink[] = [];
  for (const entry of entries.reverse()) {
    if (entry.kind !== ENTRY.decision || seen.has(entry.msgId ?? '')) continue;
    seen.add(entry.msgId ?? '');
    results.push(await toChainLink(ledger, entry));
    if (results.length === limit) break;
  }
  return { q, kind, results };
}
