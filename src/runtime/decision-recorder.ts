import type { Envelope, GatedKind } from '../envelope/index.js';
import type { Verdict } from '../gate/index.js';
import { claimedCause, claimedHead } from './candidate-text.js';
import { decisionData, decisionEvent, type Extra, unreadable } from './decision-data.js';
import type { EnvelopeFactory } from './envelopes.js';
import { alertOf, countDecision } from './events.js';
import type { JudgeDeps, Judged, Origin } from './judge.js';
import { type DecisionHeader, decisionRecord, headerOf } from './records.js';

/** Builds a decision entry, counts it and tells listeners (`cause` and `header` for what the gate could not read). */
export type RecordDecision = (
  now: number,
  msgId: string,
  gated: GatedKind,
  verdict: Verdict,
  envelope: Envelope | undefined,
  extra: Extra,
  cause?: string,
  header?: DecisionHeader,
) => Judged;

/** The judge's recording half: a verdict becomes a decision entry, counted, and an event if anyone listens. */
export function createDecisionRecorder(
  deps: Pick<JudgeDeps, 'counts' | 'publish' | 'listening'>,
): RecordDecision {
  const { counts, publish } = deps;
  return (now, msgId, gated, verdict, envelope, extra, cause, header) => {
    const data = decisionData(gated, verdict, envelope, extra);
    countDecision(counts, gated, verdict);
    if (deps.listening()) publish(decisionEvent(now, msgId, gated, verdict, envelope, extra, cause));
    // Published even when nobody listens to everything: the alerter hears alerts (events.ts).
    const alert = alertOf(now, msgId, verdict, envelope);
    if (alert !== undefined) publish(alert);
    const entry = decisionRecord(now, msgId, data, header);
    const consumers = extra.consumers ?? [];
    return { record: entry, msgId, gated, verdict, envelope, consumers };
  };
}

/**
 * Records a candidate the gate refused without walking it (no JSON text, or nested too deep), like
 * any refusal all the same: who sent it, what it is about (so `why` and the subject and agent
 * queries find it), and as evidence what arrived, rendered here since it has no JSON text.
 */
export function recordUnreadable(
  record: RecordDecision,
  factory: Pick<EnvelopeFactory, 'id'>,
  now: number,
  gated: GatedKind,
  verdict: Verdict,
  candidate: Envelope,
  origin: Origin | undefined,
): Judged {
  const extra = unreadable(candidate);
  const claimed = claimedHead(candidate);
  if (claimed !== undefined) extra.claimed = claimed;
  if (origin?.partner === true) extra.partner = true;
  if (origin?.sentBy !== undefined) extra.sentBy = origin.sentBy;
  const header = headerOf(candidate);
  // An ingress message's causationid is an unchecked claim: not indexed (see gate/decide.ts).
  const cause = header.agent?.startsWith('ingress:') === true ? undefined : header.causationId;
  const { causationId: _, ...indexed } = header;
  const h = cause === undefined ? indexed : { ...indexed, causationId: cause };
  return record(now, factory.id(), gated, verdict, undefined, extra, cause ?? claimedCause(candidate), h);
}
