import { type GatedKind, type JsonValue, parseSource } from '../envelope/index.js';
import { type EchoLink, type LinkVia, scopeKeyFor, type Verdict, type VerdictIssue } from '../gate/index.js';
import type { LedgerEntry, LedgerReader } from '../ledger/index.js';
import { type DriftAlarm, PILOT_BREAKER } from '../state/index.js';
import { ALERT_SENT } from './alert-records.js';
import { type BreakerOpening, type DecisionData, ENTRY } from './records.js';

function alertOutcomeOf(data: Readonly<Record<string, unknown>>): AlertOutcome {
  const text = (key: string) => (typeof data[key] === 'string' ? (data[key] as string) : '');
  const attempts = typeof data.attempts === 'number' ? data.attempts : 0;
  const error = data.error as { code?: unknown; message?: unknown } | undefined;
  const why =
    typeof error?.code === 'string' && typeof error.message === 'string'
      ? { error: { code: error.code, message: error.message } }
      : {};
  return {
    route: text('route'),
    sink: text('sink'),
    event: text('event'),
    severity: text('severity'),
    outcome: text('outcome'),
    attempts,
    ...why,
  };
}

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
  /** The partition whose chain holds the decision (`partitionOf(subject)`; 0 with one partition). */
  readonly partition: number;
  readonly causationid: string | null;
  /** Set when the warden linked an inbound message to an effect it had emitted: that effect's id. */
  readonly echoOf: string | null;
  /** The same link in full: the effect's id and type, and how it was made; null when not linked. */
  readonly linkedTo: LinkedEffect | null;
  /** A `causationid` the message claimed and the gate could not verify (`loop.unverified_causation`). */
  readonly unverifiedCausation?: string;
  /** The pilot who sent a root message by hand through the API, if one did. */
  readonly sentBy?: string;
  /** What happened after the decision: deliveries, executions, failures, releases of a hold. */
  readonly outcomes: readonly Outcome[];
};

/** An ingress message linked to an effect: by `causationid`, by the executor's reply token, or by echo. */
export type LinkedEffect = {
  readonly id: string;
  /** The effect's type, e.g. `credit.issue`; `effect` when the ledger no longer says. */
  readonly effect: string;
  readonly via: LinkVia;
  readonly fingerprint?: string;
  readonly token?: string;
};

/**
 * `agent` is who acted (`pilot:<name>` for a pilot's release); `outcome` and `reason` are set for
 * hold releases, and `verdict` when the release was gated again (a loop or freeze hold, or a
 * partner's reach checked again) with the verdict that decided it; `attempt` and `error` (its code
 * and message) for `delivery.failed` and `dead-letter`.
 */
export type Outcome = {
  readonly kind: string;
  readonly agent: string | null;
  readonly at: string;
  readonly outcome?: string;
  readonly reason?: string;
  readonly verdict?: { readonly decision: string; readonly reason: string; readonly detail: string };
  readonly attempt?: number;
  readonly error?: { readonly code: string; readonly message: string };
  /** For `delivered`: why the handler emitted nothing, when it said (`ctx.note`: a remote's answer no reply mapping used). */
  readonly note?: { readonly text: string; readonly evidence?: string };
  /** For `alert.sent`: who was told about this message, how, and whether it reached them. */
  readonly alert?: AlertOutcome;
};

/** An alert about a message (an `alert.sent` entry, docs/alerts.md). */
export type AlertOutcome = {
  readonly route: string;
  readonly sink: string;
  readonly event: string;
  readonly severity: string;
  /** `sent`, `failed` (after its last try) or `overflow` (the queue was full). */
  readonly outcome: string;
  readonly attempts: number;
  /** Why it failed (its last try), when it did. */
  readonly error?: { readonly code: string; readonly message: string };
};

/** A pilot's freeze, unfreeze or breaker reset, as `why` lists them next to the chain. */
export type PilotActionView = {
  readonly action: string;
  readonly subject: string;
  readonly pilot: string;
  readonly reason: string;
  readonly at: string;
  readonly breaker?: string;
  /** True on a pilot's freeze made before the chain's first decision and still in force then (it may have held it). */
  readonly inForce?: boolean;
};

/** A failure breaker that stopped a message of the chain: when and why it opened (a `breaker.opened` entry). */
export type BreakerOpeningView = BreakerOpening & {
  /** The message of the chain it held or denied. */
  readonly stopped: string;
  readonly at: string;
  /** The failed message or request whose failure opened it. */
  readonly openedBy: string;
};

/** Turns a decision entry (and the entries after it naming the same message) into a chain link. */
export async function toChainLink(ledger: LedgerReader, entry: LedgerEntry): Promise<ChainLink> {
  const d = entry.data as unknown as DecisionData;
  const e = d.envelope;
  const id = entry.msgId ?? '';
  const [byId, caused] = await Promise.all([ledger.byMessage(id), ledger.byCausation(id)]);
  const recorded = byId
    .filter((x) => x.kind !== ENTRY.decision)
    .map((x): Outcome => {
      const { outcome, reason, verdict, attempt, error, note } = x.data as {
        outcome?: string;
        reason?: string;
        verdict?: { decision: string; reason: string; detail: string };
        attempt?: number;
        error?: { code: string; message: string };
        note?: { text: string; evidence?: string };
      };
      const failed = x.kind === ENTRY.deliveryFailed || x.kind === ENTRY.deadLetter;
      return {
        kind: x.kind,
        agent: x.agent ?? null,
        at: new Date(x.at).toISOString(),
        ...(x.kind === ENTRY.holdReleased && outcome !== undefined ? { outcome } : {}),
        ...(x.kind === ENTRY.holdReleased && reason !== undefined ? { reason } : {}),
        ...(x.kind === ENTRY.holdReleased && verdict !== undefined
          ? { verdict: { decision: verdict.decision, reason: verdict.reason, detail: verdict.detail } }
          : {}),
        ...(failed && attempt !== undefined ? { attempt } : {}),
        ...(x.kind === ENTRY.delivered && note !== undefined ? { note } : {}),
        ...(failed && error !== undefined ? { error: { code: error.code, message: error.message } } : {}),
        ...(x.kind === ALERT_SENT ? { alert: alertOutcomeOf(x.data) } : {}),
      };
    });
  // A handler that emitted has no `delivered` entry: the first decision on what it emitted stands
  // for it. Echoes linked back through an ingress are consequences, not deliveries.
  const handledBy = new Map<string, number>();
  for (const child of caused) {
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
    type: e?.type ?? d.claimed?.type ?? '(unparsed input)',
    source: e?.source ?? d.location ?? '(unknown)',
    // Without an envelope (refused as too large, say) the indexed fields still name the subject.
    subject: e?.subject ?? entry.subject ?? '',
    hop: e?.hop ?? d.claimed?.hop ?? 0,
    verdict: d.verdict.decision,
    stage: d.verdict.stage,
    rule: d.verdict.rule ?? null,
    reason: d.verdict.reason,
    detail: d.verdict.detail,
    agent: entry.agent ?? '',
    gated: d.gated,
    at: new Date(entry.at).toISOString(),
    partition: entry.partition,
    causationid: e?.causationid ?? entry.causationId ?? null,
    echoOf: d.link?.effectId ?? null,
    linkedTo: d.link === undefined ? null : await linkedEffect(ledger, d.link),
    ...(d.unverifiedCausation === undefined ? {} : { unverifiedCausation: d.unverifiedCausation }),
    ...(d.sentBy === undefined ? {} : { sentBy: d.sentBy }),
    outcomes,
  };
}

/** A decision's link as `why` shows it; links recorded before effect types were kept look the type up. */
async function linkedEffect(ledger: LedgerReader, link: EchoLink): Promise<LinkedEffect> {
  const effect =
    link.effect ??
    (
      (await ledger.byMessage(link.effectId)).find((x) => x.kind === ENTRY.decision)?.data as
        | DecisionData
        | undefined
    )?.envelope?.type ??
    'effect';
  return {
    id: link.effectId,
    effect,
    via: link.via ?? 'echo',
    ...(link.fingerprint === undefined ? {} : { fingerprint: link.fingerprint }),
    ...(link.token === undefined ? {} : { token: link.token }),
  };
}

/** The causal chain that led to a message, root first; undefined when the ledger has no such message. */
export async function whyChain(
  ledger: LedgerReader,
  msgId: string,
): Promise<
  | {
      id: string;
      chain: (ChainLink & { data?: JsonValue; issues?: readonly VerdictIssue[] })[];
      actions: PilotActionView[];
      breakers: BreakerOpeningView[];
      drift?: DriftAlarmView[];
    }
  | undefined
> {
  const entries = (await ledger.lineage(msgId)).filter((e) => e.kind === ENTRY.decision);
  if (entries.length === 0) return undefined;
  // Each link with its message's data and its verdict's issues (`why` only: search and impact
  // lists stay small).
  const chain = await Promise.all(
    entries.map(async (e) => {
      const d = e.data as unknown as DecisionData;
      const data = d.envelope?.data;
      const issues = d.verdict.issues;
      return {
        ...(await toChainLink(ledger, e)),
        ...(data === undefined ? {} : { data }),
        ...(issues === undefined || issues.length === 0 ? {} : { issues }),
      };
    }),
  );
  const breakers = (await Promise.all(entries.map((e) => openingOf(ledger, e)))).flatMap((b) => b ?? []);
  const drift = (await Promise.all(entries.map((e) => driftAlarmOf(ledger, e)))).flatMap((b) => b ?? []);
  const actions = await pilotActionsOn(ledger, chain);
  return { id: msgId, chain, actions, breakers, ...(drift.length === 0 ? {} : { drift }) };
}

/** A drift alarm whose breaker held or denied a message of the chain (`why`). */
export type DriftAlarmView = DriftAlarm & {
  readonly summary: string;
  /** The message the breaker stopped, and when the alarm was raised. */
  readonly stopped: string;
  readonly raisedAt: string;
  /** The delivered emission whose evaluation raised it. */
  readonly raisedBy: string;
};

/**
 * For a message a drift monitor's breaker held or denied: the `drift.alarm` entry that opened it
 * (the latest of that monitor for the sender raised before the decision).
 */
async function driftAlarmOf(ledger: LedgerReader, entry: LedgerEntry): Promise<DriftAlarmView | undefined> {
  const { verdict, envelope } = entry.data as unknown as DecisionData;
  if (verdict.stage !== 'breaker' || verdict.rule === undefined || envelope === undefined) return undefined;
  if (verdict.reason !== 'breaker.frozen' && verdict.reason !== 'breaker.open') return undefined;
  const sender = parseSource(envelope.source)?.name;
  const raised = (await ledger.byAgent(`drift:${verdict.rule}`))
    .filter((e) => e.kind === ENTRY.driftAlarm && e.at <= entry.at)
    .filter((e) => String((e.data as { agent?: string }).agent ?? '').split('@')[0] === sender)
    .at(-1);
  if (raised === undefined) return undefined;
  const alarm = raised.data as unknown as DriftAlarm & { summary: string };
  return {
    ...alarm,
    stopped: entry.msgId ?? '',
    raisedAt: new Date(raised.at).toISOString(),
    raisedBy: raised.msgId ?? '',
  };
}

/**
 * For a message an open breaker held or denied: the `breaker.opened` entry of that breaker and key
 * that was in force when it was decided (none after a pilot's reset or unfreeze of it). Breakers
 * opened by counting admitted messages have none: the message that tripped them is the record.
 */
async function openingOf(ledger: LedgerReader, entry: LedgerEntry): Promise<BreakerOpeningView | undefined> {
  const { verdict, envelope } = entry.data as unknown as DecisionData;
  if (verdict.stage !== 'breaker' || verdict.rule === undefined || envelope === undefined) return undefined;
  if (verdict.reason !== 'breaker.frozen' && verdict.reason !== 'breaker.open') return undefined;
  const rule = verdict.rule;
  const opened = (await ledger.byAgent(`breaker:${rule}`))
    .filter((e) => e.kind === ENTRY.breakerOpened && e.at <= entry.at)
    .map((e) => ({ e, d: e.data as unknown as BreakerOpening }))
    .filter(({ d }) => d.key === scopeKeyFor(envelope, d.scope))
    .at(-1);
  if (opened === undefined) return undefined;
  const { e, d } = opened;
  const closed = (await ledger.byAgentPrefix('pilot:')).some((p) => {
    if (p.kind !== ENTRY.pilotAction || p.at < e.at || p.at > entry.at || p.subject !== d.key) return false;
    const a = p.data as { action?: string; breaker?: string; breakers?: string[] };
    return a.breaker === rule || (a.breakers ?? []).includes(rule);
  });
  if (closed) return undefined;
  return { ...d, stopped: entry.msgId ?? '', at: new Date(e.at).toISOString(), openedBy: e.msgId ?? '' };
}

/**
 * Freezes, unfreezes and resets on the chain's subjects from its first decision on: what a pilot
 * did that changed how these messages were gated, oldest first. A pilot's freeze made earlier and
 * still in force at the first decision comes first (`inForce`): it is what held the chain.
 */
async function pilotActionsOn(ledger: LedgerReader, chain: readonly ChainLink[]): Promise<PilotActionView[]> {
  const since = Date.parse(chain[0]?.at ?? '') || 0;
  const subjects = new Set(chain.map((link) => link.subject));
  // Pilots act rarely: all their entries, through the agent index, are a short list.
  const onChain = (await ledger.byAgentPrefix('pilot:')).filter(
    (e) => e.kind === ENTRY.pilotAction && subjects.has(e.subject ?? ''),
  );
  const inForce = new Map<string, LedgerEntry>();
  for (const e of onChain) {
    if (e.at >= since) continue;
    const d = e.data as { action: string; breaker?: string; breakers?: string[] };
    if (d.action === 'freeze') inForce.set(e.subject ?? '', e);
    else if (d.action === 'unfreeze' || (d.action === 'reset' && d.breaker === PILOT_BREAKER))
      inForce.delete(e.subject ?? '');
  }
  const view = (e: LedgerEntry, held: boolean): PilotActionView => {
    const d = e.data as { action: string; reason: string; breaker?: string };
    return {
      action: d.action,
      subject: e.subject ?? '',
      pilot: e.agent ?? '',
      reason: d.reason,
      at: new Date(e.at).toISOString(),
      ...(d.breaker === undefined ? {} : { breaker: d.breaker }),
      ...(held ? { inForce: true } : {}),
    };
  };
  return [
    ...[...inForce.values()].sort((a, b) => a.at - b.at).map((e) => view(e, true)),
    ...onChain.filter((e) => e.at >= since).map((e) => view(e, false)),
  ];
}

/**
 * What followed a message, or every message of an agent version (`name@version`) and what followed
 * them: the blast radius. Breadth first, without duplicates.
 */
export async function impactOf(
  ledger: LedgerReader,
  target: string,
): Promise<{ target: string; roots: ChainLink[]; impact: ChainLink[] } | undefined> {
  const isAgent = target.includes('@');
  const roots = (isAgent ? await ledger.byAgent(target) : await ledger.byMessage(target)).filter(
    (e) => e.kind === ENTRY.decision,
  );
  if (roots.length === 0) return undefined;
  const seen = new Set(roots.map((r) => r.msgId));
  const consequences: LedgerEntry[] = [];
  for (const root of roots) {
    for (const e of await ledger.impact(root.msgId ?? '')) {
      if (e.kind !== ENTRY.decision || seen.has(e.msgId)) continue;
      seen.add(e.msgId);
      consequences.push(e);
    }
  }
  // One link at a time: an agent's blast radius can run to thousands of messages.
  const links = async (entries: readonly LedgerEntry[]) => {
    const list: ChainLink[] = [];
    for (const e of entries) list.push(await toChainLink(ledger, e));
    return list;
  };
  return { target, roots: await links(roots), impact: await links(consequences) };
}
