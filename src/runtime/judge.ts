import { type Envelope, type GatedKind, tooDeepAt } from '../envelope/index.js';
import { decide, type Verdict } from '../gate/index.js';
import type { LedgerRecord } from '../ledger/index.js';
import type { StateStore } from '../state/index.js';
import type { ActivePolicy } from './active.js';
import { claimedCause, describeValue, jsonText, notJson, rawFields, tooDeep } from './candidate-text.js';
import type { Clock, EnvelopeFactory } from './envelopes.js';
import { alertOf, countDecision, type MeshEvent, type RunCounts } from './events.js';
import { type DecisionData, type DecisionHeader, decisionRecord, headerOf } from './records.js';

/** Who sent a root message, as the door that took it knows them; recorded with its decision. */
export type Origin = { readonly sentBy?: string; readonly partner?: boolean };

/** What a decision record holds besides its verdict and envelope. */
export type Extra = Mutable<Omit<DecisionData, 'gated' | 'verdict' | 'envelope'>>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A decision made and recorded in memory, waiting for its ledger entry to be durable. */
export type Judged = {
  readonly record: LedgerRecord;
  readonly msgId: string;
  readonly gated: GatedKind;
  readonly verdict: Verdict;
  readonly envelope: Envelope | undefined;
  readonly now: number;
  /** Agents an admitted message goes to (recorded in its decision). */
  readonly consumers: readonly string[];
  /** An outside caller's message: a hold of it checks the partner's reach again when released. */
  readonly partner: boolean;
};

export type JudgeDeps = {
  readonly active: ActivePolicy;
  readonly state: StateStore;
  readonly clock: Clock;
  readonly factory: EnvelopeFactory;
  readonly counts: RunCounts;
  readonly publish: (event: MeshEvent) => void;
  /** Whether anyone listens: events are built only then, off the hot path otherwise. */
  readonly listening: () => boolean;
};

/**
 * The decide-and-record half of admission: `judge` runs the gate over one candidate, applies its
 * deltas to state and builds its decision entry; `record` builds (and counts, and announces) a
 * decision entry for a verdict made elsewhere. Neither touches the ledger: the caller appends.
 */
export function createJudge(deps: JudgeDeps) {
  const { active, state, clock, factory, counts, publish } = deps;

  const consumersOf = (envelope: Envelope): readonly string[] =>
    envelope.target !== undefined ? [envelope.target] : (active.policy.consumers.get(envelope.type) ?? []);

  /** Gate → state: decides one envelope, applies its deltas, and builds its decision entry. */
  const judge = (candidate: Envelope, gated: GatedKind, external: boolean, origin?: Origin): Judged => {
    const now = clock();
    // The size guard measures the JSON text, and input without a canonical JSON form (cycles,
    // BigInt, lone surrogates) is quarantined here instead of failing in the ledger.
    // Nesting is checked first, without recursion: JSON.stringify itself overflows the stack on a
    // few thousand levels.
    const deep = tooDeepAt(candidate);
    const text = deep === undefined ? jsonText(candidate) : undefined;
    if (typeof text !== 'string') {
      // Refused before the gate, yet recorded like a gate refusal: who sent it, what it is about
      // (so `why` and the subject and agent queries find it), and what arrived as evidence.
      const extra = unreadable(candidate);
      if (origin?.partner === true) extra.partner = true;
      if (origin?.sentBy !== undefined) extra.sentBy = origin.sentBy;
      const verdict = text === undefined ? tooDeep(deep!) : notJson(text.cause);
      const header = headerOf(candidate);
      // An ingress message's causationid is an unchecked claim: not indexed (see gate/decide.ts).
      const cause = header.agent?.startsWith('ingress:') === true ? undefined : header.causationId;
      const { causationId: _, ...indexed } = header;
      const h = cause === undefined ? indexed : { ...indexed, causationId: cause };
      return record(now, factory.id(), gated, verdict, undefined, extra, cause ?? claimedCause(candidate), h);
    }
    const size = Buffer.byteLength(text);
    const decision = decide(
      origin?.partner === true
        ? { candidate, size, kind: gated, now, external, partner: true }
        : { candidate, size, kind: gated, now, external },
      active.policy,
      state,
    );
    state.apply(decision.deltas);
    const { envelope, verdict, link, unverifiedCausation } = decision;
    const consumers =
      verdict.decision === 'deliver' && envelope !== undefined && gated === 'message'
        ? consumersOf(envelope)
        : undefined;
    // An envelope over the size limit is recorded as evidence (prefix, size, SHA-256), not whole.
    const oversized = envelope !== undefined && size > active.policy.guards.envelope.maxBytes;
    const extra: Extra = envelope === undefined || oversized ? rawFields(text) : {};
    if (consumers !== undefined) extra.consumers = consumers;
    if (decision.deltas.length > 0) extra.deltas = decision.deltas;
    if (link !== undefined) extra.link = link;
    if (origin?.partner === true) extra.partner = true;
    if (origin?.sentBy !== undefined) extra.sentBy = origin.sentBy;
    if (unverifiedCausation !== undefined) extra.unverifiedCausation = unverifiedCausation;
    if (oversized) {
      const header = headerOf(envelope);
      return record(now, envelope.id, gated, verdict, undefined, extra, header.causationId, header);
    }
    // Input that failed the shape check may carry no usable id; it still gets one so `why` finds it.
    const cause = envelope === undefined ? claimedCause(candidate) : undefined;
    return record(now, envelope?.id ?? factory.id(), gated, verdict, envelope, extra, cause);
  };

  /** Builds the decision entry, counts it and tells listeners. */
  const record = (
    now: number,
    msgId: string,
    gated: GatedKind,
    verdict: Verdict,
    envelope: Envelope | undefined,
    extra: Extra,
    cause?: string,
    header?: DecisionHeader,
  ): Judged => {
    const data = decisionData(gated, verdict, envelope, extra);
    countDecision(counts, gated, verdict);
    if (deps.listening()) {
      const event = decisionEvent(now, msgId, gated, verdict, envelope, extra, cause);
      publish(event);
      const alert = alertOf(now, msgId, verdict);
      if (alert !== undefined) publish(alert);
    }
    const consumers = extra.consumers ?? [];
    const entry = decisionRecord(now, msgId, data, header);
    return {
      record: entry,
      msgId,
      gated,
      verdict,
      envelope,
      now,
      consumers,
      partner: extra.partner === true,
    };
  };

  return { judge, record, consumersOf };
}

/**
 * The evidence of a candidate with no JSON text the size guard could measure: its text when it has
 * one after all (nested too deep for the gate, not for JSON.stringify), else a readable rendering.
 */
function unreadable(candidate: unknown): Extra {
  try {
    const text = JSON.stringify(candidate);
    if (typeof text === 'string' && text.isWellFormed()) return rawFields(text);
  } catch {
    // a cycle, a BigInt, or nested past what the engine's stack can walk
  }
  return { raw: describeValue(candidate) };
}

/**
 * A decision's data. Members set one by one in canonical (RFC 8785) order, so the ledger serializes
 * the record with native JSON.stringify (and no conditional spreads: each allocates, on every hop).
 */
function decisionData(
  gated: GatedKind,
  verdict: Verdict,
  envelope: Envelope | undefined,
  extra: Extra,
): DecisionData {
  const data: Mutable<DecisionData> = {} as Mutable<DecisionData>;
  if (extra.consumers !== undefined) data.consumers = extra.consumers;
  if (extra.deltas !== undefined) data.deltas = extra.deltas;
  if (envelope !== undefined) data.envelope = envelope;
  data.gated = gated;
  if (extra.link !== undefined) data.link = extra.link;
  if (extra.location !== undefined) data.location = extra.location;
  if (extra.partner !== undefined) data.partner = extra.partner;
  if (extra.raw !== undefined) data.raw = extra.raw;
  if (extra.rawBytes !== undefined) data.rawBytes = extra.rawBytes;
  if (extra.rawDigest !== undefined) data.rawDigest = extra.rawDigest;
  if (extra.sentBy !== undefined) data.sentBy = extra.sentBy;
  if (extra.unverifiedCausation !== undefined) data.unverifiedCausation = extra.unverifiedCausation;
  data.verdict = verdict;
  return data;
}

/** A decision as the live feed announces it. */
function decisionEvent(
  now: number,
  msgId: string,
  gated: GatedKind,
  verdict: Verdict,
  envelope: Envelope | undefined,
  extra: Extra,
  cause: string | undefined,
): MeshEvent {
  const event: Mutable<Extract<MeshEvent, { type: 'decision' }>> = {
    type: 'decision',
    at: now,
    msgId,
    gated,
    verdict,
  };
  if (envelope !== undefined) event.envelope = envelope;
  const causationid = envelope?.causationid ?? cause;
  if (causationid !== undefined) event.causationid = causationid;
  if (extra.link !== undefined) event.link = extra.link;
  if (extra.location !== undefined) event.location = extra.location;
  return event;
}
