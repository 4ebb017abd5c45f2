import type { Envelope, GatedKind } from '../envelope/index.js';
import type { Verdict } from '../gate/index.js';
import { describeValue, rawFields } from './candidate-text.js';
import type { MeshEvent } from './events.js';
import type { DecisionData } from './records.js';

// The pure half of recording a decision (admission.ts is the shell): its data in canonical member
// order, the event that announces it, and the evidence of a candidate that has no JSON text.

/** What a decision record holds besides its verdict and envelope. */
export type Extra = Mutable<Omit<DecisionData, 'gated' | 'verdict' | 'envelope'>>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The evidence of a candidate with no JSON text the size guard could measure: its text when it has
 * one after all (nested too deep for the gate, not for JSON.stringify), else a readable rendering.
 */
export function unreadable(candidate: unknown): Extra {
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
export function decisionData(
  gated: GatedKind,
  verdict: Verdict,
  envelope: Envelope | undefined,
  extra: Extra,
): DecisionData {
  const data: Mutable<DecisionData> = {} as Mutable<DecisionData>;
  if (extra.claimed !== undefined) data.claimed = extra.claimed;
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
export function decisionEvent(
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
