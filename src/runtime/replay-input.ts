import type { Envelope } from '../envelope/index.js';
import { tooDeepAt } from '../envelope/index.js';
import type { GateInput, Verdict } from '../gate/index.js';
import type { StateDelta } from '../state/index.js';
import { jsonText } from './candidate-text.js';
import type { DecisionData } from './records.js';

// What a recorded decision gave the gate, rebuilt from its ledger entry: the candidate as it came
// (before the gate linked it or set its policy digest), its size, and whether it came from outside.
// Pure: replay (replay-engine.ts) decides it again under another policy.

/**
 * Stops for what the runtime found out, not the policy (a taken id, a remote agent's false claims, a
 * late emission, a reply mapping that failed, input with no JSON text): no policy decides them
 * otherwise, so replay keeps them.
 */
const RUNTIME_FACTS = new Set([
  'envelope.id_taken',
  'envelope.source_mismatch',
  'envelope.causation_mismatch',
  'envelope.late_emit',
  'envelope.unmapped',
  'envelope.too_deep',
  'envelope.not_json',
]);

/** A recorded decision, ready to be decided again, or kept as recorded (and why). */
export type ReplayInput =
  | { readonly kind: 'gate'; readonly input: GateInput }
  | { readonly kind: 'kept'; readonly why: 'runtime-fact' | 'no-envelope' };

/**
 * The gate's input for a recorded decision at `at`. The envelope the ledger keeps is the one the gate
 * returned: its `policydigest` (set on delivery) is taken off, a causation the gate could not verify
 * is put back, and a root message the gate linked to an effect (echo, reply token, causationid) is a
 * root again. It came from outside (`external`) when its decision remembered its id (a `seen` delta)
 * or refused it as a duplicate seen before.
 */
export function replayInput(data: DecisionData, at: number): ReplayInput {
  const { verdict, envelope, gated } = data;
  if (RUNTIME_FACTS.has(verdict.reason) || isTakenDuplicate(verdict))
    return { kind: 'kept', why: 'runtime-fact' };
  if (verdict.stage === 'ingress') return { kind: 'kept', why: 'no-envelope' };
  const partner = data.partner === true ? { partner: true as const } : {};
  if (envelope === undefined) {
    // Refused before it became an envelope, or too large to keep: decided again from its text when
    // the ledger kept all of it.
    const raw = data.raw;
    if (raw === undefined || data.rawBytes !== Buffer.byteLength(raw))
      return { kind: 'kept', why: 'no-envelope' };
    let candidate: unknown;
    try {
      candidate = JSON.parse(raw);
    } catch {
      return { kind: 'kept', why: 'no-envelope' };
    }
    if (tooDeepAt(candidate) !== undefined) return { kind: 'kept', why: 'no-envelope' };
    const external = remembers(data.deltas, candidate) || verdict.reason === 'envelope.duplicate_id';
    return {
      kind: 'gate',
      input: { candidate, size: data.rawBytes, kind: gated, now: at, external, ...partner },
    };
  }
  const candidate = asGiven(envelope, data);
  const text = jsonText(candidate);
  const size = typeof text === 'string' ? Buffer.byteLength(text) : 0;
  const external = remembers(data.deltas, envelope) || verdict.reason === 'envelope.duplicate_id';
  return { kind: 'gate', input: { candidate, size, kind: gated, now: at, external, ...partner } };
}

/** A duplicate the ledger (not the dedupe window) caught: the id named another message for good. */
function isTakenDuplicate(verdict: Verdict): boolean {
  return verdict.reason === 'envelope.duplicate_id' && verdict.detail.includes('already names a message');
}

/** Whether the decision remembered the candidate's id as an id from outside. */
function remembers(deltas: readonly StateDelta[] | undefined, candidate: unknown): boolean {
  const id = (candidate as { id?: unknown } | null)?.id;
  return deltas?.some((d) => d.kind === 'seen' && d.id === id) === true;
}

/** The envelope as it reached the gate (see replayInput). */
export function asGiven(
  envelope: Envelope,
  data: Pick<DecisionData, 'link' | 'unverifiedCausation'>,
): Envelope {
  const { policydigest: _digest, ...rest } = envelope;
  let env: Envelope = rest;
  if (data.unverifiedCausation !== undefined) env = { ...env, causationid: data.unverifiedCausation };
  const link = data.link;
  if (link !== undefined) {
    const { ancestry: _ancestry, causationid: _cause, ...root } = env;
    env = { ...root, correlationid: env.id, hop: 0 };
    if (link.via === 'causationid') env = { ...env, causationid: link.effectId };
  }
  return env;
}
