import type { Envelope, GatedKind } from '../envelope/index.js';
import type { EchoLink, Verdict } from '../gate/index.js';
import type { Ledger, LedgerEntry } from '../ledger/index.js';
import { ENTRY } from './records.js';

/** One message or effect in a lineage, as `why --json` prints it. */
export type ChainLink = {
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly subject: string;
  readonly hop: number;
  readonly verdict: Verdict['decision'];
  readonly stage: string;
  readonly rule: string | null;
  readonly reason: string;
  readonly detail: string;
  /** `name@version`, `ingress:<name>` or `effect:<name>`. */
  readonly agent: string;
  readonly gated: GatedKind;
  readonly at: string;
  readonly causationid: string | null;
  /** Set when the warden linked an inbound message to an effect it had emitted (echo detection). */
  readonly echoOf: string | null;
  /** What happened after the decision: deliveries, executions, failures. */
  readonly outcomes: readonly { readonly kind: string; readonly agent: string | null; readonly at: string }[];
};

type DecisionData = {
  gated: GatedKind;
  verdict: Verdict;
  envelope?: Envelope;
  raw?: string;
  location?: string;
  link?: EchoLink;
};

/** Turns a decision entry (and the entries after it naming the same message) into a chain link. */
export function toChainLink(ledger: Ledger, entry: LedgerEntry): ChainLink {
  const d = entry.data as unknown as DecisionData;
  const e = d.envelope;
  const id = entry.msgId ?? '';
  const recorded = ledger
    .byMessage(id)
    .filter((x) => x.kind !== ENTRY.decision)
    .map((x) => ({ kind: x.kind, agent: x.agent ?? null, at: new Date(x.at).toISOString() }));
  // A handler that emitted has no `delivered` entry: the first decision on what it emitted stands
  // for it. Echoes linked back through an ingress are consequences, not deliveries.
  const handledBy = new Map<string, number>();
  for (const child of ledger.byCausation(id)) {
    const by = child.agent;
    if (
      child.kind === ENTRY.decision &&
      by !== undefined &&
      !by.startsWith('ingress:') &&
      !handledBy.has(by)
    ) {
      handledBy.set(by, child.at);
    }
  }
  const outcomes = [
    ...[...handledBy].map(([agent, at]) => ({
      kind: ENTRY.delivered,
      agent,
      at: new Date(at).toISOString(),
    })),
    ...recorded,
  ];
  return {
    id,
    type: e?.type ?? '(unparsed input)',
    source: e?.source ?? d.location ?? '(unknown)',
    subject: e?.subject ?? '',
    hop: e?.hop ?? 0,
    verdict: d.verdict.decision,
    stage: d.verdict.stage,
    rule: d.verdict.rule ?? null,
    reason: d.verdict.reason,
    detail: d.verdict.detail,
    agent: entry.agent ?? '',
    gated: d.gated,
    at: new Date(entry.at).toISOString(),
    causationid: e?.causationid ?? null,
    echoOf: d.link?.effectId ?? null,
    outcomes,
  };
}

/** The causal chain that led to a message, root first; undefined when the ledger has no such message. */
export function whyChain(ledger: Ledger, msgId: string): { id: string; chain: ChainLink[] } | undefined {
  const entries = ledger.lineage(msgId).filter((e) => e.kind === ENTRY.decision);
  if (entries.length === 0) return undefined;
  return { id: msgId, chain: entries.map((e) => toChainLink(ledger, e)) };
}

/**
 * What followed a message, or every message of an agent version (`name@version`) and what followed
 * them: the blast radius. Breadth first, without duplicates.
 */
export function impactOf(
  ledger: Ledger,
  target: string,
): { target: string; roots: ChainLink[]; impact: ChainLink[] } | undefined {
  const isAgent = target.includes('@');
  const roots = isAgent
    ? ledger.byAgent(target).filter((e) => e.kind === ENTRY.decision)
    : ledger.byMessage(target).filter((e) => e.kind === ENTRY.decision);
  if (roots.length === 0) return undefined;
  const seen = new Set(roots.map((r) => r.msgId));
  const impact: ChainLink[] = [];
  for (const root of roots) {
    for (const e of ledger.impact(root.msgId ?? '')) {
      if (e.kind !== ENTRY.decision || seen.has(e.msgId)) continue;
      seen.add(e.msgId);
      impact.push(toChainLink(ledger, e));
    }
  }
  return { target, roots: roots.map((r) => toChainLink(ledger, r)), impact };
}
