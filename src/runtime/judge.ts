import {
  type Envelope,
  errorText,
  type GatedKind,
  parseSource,
  plainJsonSizeBound,
  tooDeepAt,
} from '../envelope/index.js';
import {
  type Decision,
  decide,
  type GateInput,
  type RuntimeFacts,
  type Unreadable,
  type Verdict,
} from '../gate/index.js';
import type { LedgerRecord } from '../ledger/index.js';
import type { StateStore } from '../state/index.js';
import type { ActivePolicy } from './active.js';
import { claimedCause, describeValue, jsonText, rawFields } from './candidate-text.js';
import type { Extra } from './decision-data.js';
import { createDecisionRecorder, type RecordDecision, recordUnreadable } from './decision-recorder.js';
import type { Clock, EnvelopeFactory } from './envelopes.js';
import type { MeshEvent, RunCounts } from './events.js';
import type { HeldMessage } from './holds.js';
import { headerOf } from './records.js';
import { type DecisionReport, type MeshTelemetry, noTelemetry } from './telemetry.js';

/** Who sent a root message, as the door that took it knows them; recorded with its decision. */
export type Origin = { readonly sentBy?: string; readonly partner?: boolean };

/** A decision made and recorded in memory, waiting for its ledger entry to be durable. */
export type Judged = {
  readonly record: LedgerRecord;
  readonly msgId: string;
  readonly gated: GatedKind;
  readonly verdict: Verdict;
  readonly envelope: Envelope | undefined;
  /** Agents an admitted message goes to (recorded in its decision). */
  readonly consumers: readonly string[];
};

export type Judge = {
  /** Gate → state → decision entry, for one candidate: measured, decided, its deltas applied. */
  judge(
    candidate: Envelope,
    gated: GatedKind,
    external: boolean,
    origin?: Origin,
    facts?: RuntimeFacts,
  ): Judged;
  /** Builds a decision entry for a verdict reached without a candidate to gate (a rejection), counts it, tells listeners. */
  record: RecordDecision;
  /**
   * Gates a released loop-guard or freeze hold again with those stops lifted, and applies its deltas,
   * at `now`: the time its release is recorded with, so a replay decides it at that time.
   */
  regate(hold: HeldMessage, now: number): Decision;
  /** The agents an admitted message goes to: its target, or every consumer of its type. */
  consumersOf(envelope: Envelope): readonly string[];
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
  /** Told each decision, timed around `decide`, when on. */
  readonly telemetry?: MeshTelemetry;
};

/**
 * The deciding half of the admit path (admission.ts owns the other: appending and settling): runs the
 * gate over one partition's state, applies its deltas, and builds the decision entry. Touches no
 * ledger and no clock but the one it is given.
 */
export function createJudge(deps: JudgeDeps): Judge {
  const { active, state, clock, factory } = deps;
  const telemetry = deps.telemetry ?? noTelemetry;
  const record = createDecisionRecorder(deps);

  const consumersOf = (envelope: Envelope): readonly string[] =>
    envelope.target !== undefined ? [envelope.target] : (active.policy.consumers.get(envelope.type) ?? []);

  /** When the last decision began and how long it took (`performance.now()` ms); -1 when untimed. */
  let began = 0;
  let took = -1;
  /** The gate, then its deltas applied to state: the only place either happens. */
  const decideAndApply = (input: GateInput): Decision => {
    // With telemetry on, timed here: the gate itself reads no clock.
    if (telemetry.on) began = performance.now();
    const decision = decide(input, active.policy, state);
    if (telemetry.on) took = performance.now() - began;
    state.apply(decision.deltas);
    return decision;
  };
  /** Tells telemetry the decision just timed, under the id it is recorded with. */
  const report = (
    msgId: string,
    gated: GatedKind,
    verdict: Verdict,
    envelope: Envelope | undefined,
    release?: true,
  ): void => {
    if (took < 0) return;
    const ms = took;
    took = -1;
    // Whether the sender is the policy's: a name from outside (an input line's `source`) must not
    // become a metric label of its own.
    const name = envelope === undefined ? undefined : parseSource(envelope.source)?.name;
    const { policy } = active;
    const sender =
      name !== undefined && policy.agents.has(name)
        ? 'agent'
        : name !== undefined && policy.ingress.has(name)
          ? 'ingress'
          : 'unknown';
    // No conditional spread: it makes an object of its own, every decision.
    const decided: { -readonly [K in keyof DecisionReport]: DecisionReport[K] } = {
      msgId,
      gated,
      verdict,
      envelope,
      sender,
      policyDigest: policy.digest,
      startedAt: began,
      durationMs: ms,
    };
    if (release !== undefined) decided.release = release;
    telemetry.decision(decided);
  };
  const told = (j: Judged, envelope: Envelope | undefined): Judged => {
    report(j.msgId, j.gated, j.verdict, envelope);
    return j;
  };

  /** Gate → state → decision entry, for one candidate. */
  const judge = (
    candidate: Envelope,
    gated: GatedKind,
    external: boolean,
    origin?: Origin,
    facts?: RuntimeFacts,
  ): Judged => {
    const now = clock();
    const measured = measure(candidate, active.policy.guards.envelope.maxBytes);
    if (!('size' in measured)) {
      // The gate refuses it without walking it; recorded like any refusal all the same.
      const { verdict } = decideAndApply({
        candidate,
        size: 0,
        kind: gated,
        now,
        external,
        unreadable: measured,
      });
      return told(recordUnreadable(record, factory, now, gated, verdict, candidate, origin), undefined);
    }
    const { size } = measured;
    const partner = origin?.partner === true;
    const decision = decideAndApply(
      facts === undefined
        ? partner
          ? { candidate, size, kind: gated, now, external, partner: true }
          : { candidate, size, kind: gated, now, external }
        : { candidate, size, kind: gated, now, external, ...(partner ? { partner: true } : {}), ...facts },
    );
    const { envelope, verdict, link, unverifiedCausation } = decision;
    const consumers =
      verdict.decision === 'deliver' && envelope !== undefined && gated === 'message'
        ? consumersOf(envelope)
        : undefined;
    // An envelope over the size limit is recorded as evidence (prefix, size, SHA-256), not whole.
    const oversized = envelope !== undefined && size > active.policy.guards.envelope.maxBytes;
    const extra: Extra =
      envelope === undefined || oversized ? rawFields(measured.text ?? evidenceText(candidate)) : {};
    if (consumers !== undefined) extra.consumers = consumers;
    if (decision.deltas.length > 0) extra.deltas = decision.deltas;
    if (link !== undefined) extra.link = link;
    if (partner) extra.partner = true;
    if (origin?.sentBy !== undefined) extra.sentBy = origin.sentBy;
    if (unverifiedCausation !== undefined) extra.unverifiedCausation = unverifiedCausation;
    if (oversized) {
      extra.claimed = { hop: envelope.hop, type: envelope.type };
      const header = headerOf(envelope);
      return told(
        record(now, envelope.id, gated, verdict, undefined, extra, header.causationId, header),
        envelope,
      );
    }
    // Input that failed the shape check may carry no usable id; it still gets one so `why` finds it.
    const cause = envelope === undefined ? claimedCause(candidate) : undefined;
    return told(record(now, envelope?.id ?? factory.id(), gated, verdict, envelope, extra, cause), envelope);
  };

  return {
    judge,
    record,
    regate(hold, now) {
      const measured = measure(hold.envelope, active.policy.guards.envelope.maxBytes);
      // A held envelope was measured when it was held; were it unreadable now, the gate refuses it.
      const decision = decideAndApply({
        candidate: hold.envelope,
        ...('size' in measured ? { size: measured.size } : { size: 0, unreadable: measured }),
        kind: hold.gated,
        now,
        external: false,
        release: true,
        ...(hold.partner === true ? { partner: true } : {}),
      });
      report(hold.envelope.id, hold.gated, decision.verdict, hold.envelope, true);
      return decision;
    },
    consumersOf,
  };
}

/** The text recorded as evidence of a candidate measured by its bound: its JSON, or how it reads. */
function evidenceText(candidate: unknown): string {
  const text = jsonText(candidate);
  return typeof text === 'string' ? text : describeValue(candidate);
}

/**
 * What the size guard measures of a candidate: its JSON text and that text's size in bytes, or why it
 * has none, for the gate to refuse: input without a canonical JSON form (cycles, BigInt, lone
 * surrogates) is quarantined instead of failing in the ledger. Nesting is checked before anything
 * writes it out, by walks that stop at the depth limit: JSON.stringify itself overflows the stack on
 * a few thousand levels. Plain JSON whose size has an upper bound within `maxBytes` (nearly every
 * message) is not written out: that bound is its size for the gate, whose only question is whether
 * it exceeds the limit.
 */
function measure(candidate: unknown, maxBytes: number): { size: number; text?: string } | Unreadable {
  const bound = plainJsonSizeBound(candidate, maxBytes);
  if (bound !== undefined) return { size: bound };
  const deep = tooDeepAt(candidate);
  if (deep !== undefined) return { nestedAt: deep };
  const text = jsonText(candidate);
  return typeof text === 'string'
    ? { size: Buffer.byteLength(text), text }
    : { notJson: errorText(text.cause) };
}
