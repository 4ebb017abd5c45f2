import { randomBytes } from 'node:crypto';
import { type Attributes, type HrTime, type SpanStatus, SpanStatusCode } from '@opentelemetry/api';
import type { TimedEvent } from '@opentelemetry/sdk-trace';
import { type Envelope, parseSource, spanIdOf, traceIdFor, traceIdOf } from '../envelope/index.js';

/** One gate decision, as the runtime tells it (structurally its `DecisionReport`). */
export type TelemetryDecision = {
  readonly msgId: string;
  readonly gated: 'message' | 'effect';
  readonly verdict: {
    readonly decision: 'deliver' | 'deny' | 'hold' | 'quarantine';
    readonly stage: string;
    readonly rule?: string;
    readonly reason: string;
    readonly detail?: string;
  };
  readonly envelope: Envelope | undefined;
  /** What the source is to the policy (absent: not said, taken as named). */
  readonly sender?: 'agent' | 'ingress' | 'unknown';
  readonly policyDigest: string;
  /** `performance.now()` ms when `decide` began, and how long it took. */
  readonly startedAt: number;
  /** Absent for input refused before the gate (stage `ingress`). */
  readonly durationMs?: number;
  readonly release?: boolean;
};

/** Where a decision's span sits: its trace, its own id, its parent's (if any), the sampled flag. */
export type SpanPlace = {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  /** The traceparent's sampled flag: what a caller decided, for a parent that is the caller's. */
  readonly sampled: boolean;
  /** The parent is a caller's span (a root's traceparent), not a decision of this mesh. */
  readonly remoteParent?: true;
};

/** The trace a decision belongs to, and what a sampler reads of it: no span id is worked out yet. */
export type SpanTrace = {
  readonly traceId: string;
  /** The traceparent's sampled flag: what a caller decided, for a parent that is the caller's. */
  readonly sampled: boolean;
  /** A root's parent when that is a caller's span (its traceparent names one that is not its own). */
  readonly callerSpanId?: string;
};

/**
 * A decision's trace: its case's (the trace id its traceparent carries), or for input that never
 * became an envelope a trace of its own, made of its decision's id (the id `meshwarden why` takes),
 * so the span is found from the ledger and the ledger from the span. Sampling reads this, so a
 * decision sampled out costs no span ids.
 */
export function traceOf(d: TelemetryDecision): SpanTrace {
  const e = d.envelope;
  if (e === undefined) return { traceId: traceIdFor(d.msgId), sampled: true };
  const carried = traceIdOf(e.traceparent);
  // Without a well-formed traceparent (a remote event may carry none), the case's own trace: the one
  // its children's traceparents name (envelope/trace.ts `childTraceparent`), so the case stays one trace.
  const traceId = carried ?? traceIdFor(e.correlationid);
  // The sampled flag is bit 0 of the trace flags (W3C trace context); other bits may be set.
  const sampled = carried === undefined || (Number.parseInt(e.traceparent!.slice(53), 16) & 1) === 1;
  if (d.release === true || (e.hop > 0 && e.causationid !== undefined)) return { traceId, sampled };
  const named = carried === undefined ? undefined : e.traceparent!.slice(36, 52);
  return named === undefined || named === spanIdOf(e.id)
    ? { traceId, sampled }
    : { traceId, sampled, callerSpanId: named };
}

/**
 * Where a span sits, as its span keeps it until it is written: each of its two span ids either made
 * of a message id (`…Of`: `spanIdOf` of it, worked out only when written or read) or given (`…Hex`);
 * at most one of each pair is set, and none of the parent's for a span without one.
 */
export type SpanSeat = {
  readonly traceId: string;
  readonly spanOf: string | undefined;
  readonly spanHex: string | undefined;
  readonly parentOf: string | undefined;
  readonly parentHex: string | undefined;
  readonly sampled: boolean;
};

/**
 * The span a decision is exported as. Its id is the one the message's own `traceparent` names
 * (envelope/trace.ts: made of the message id), so whatever received the message (a remote agent over
 * HTTP or A2A) sits under it; its parent is the decision on the message that caused it (same rule,
 * from `causationid`). A root's parent is the span its traceparent names when that is not its own
 * (a caller's); else it is the trace's root. A release (gated again after a pilot's approval) is a
 * child of the first decision, with an id of its own. `trace` is the decision's `traceOf`, made once
 * and shared by sampling and placing.
 * Written into `seat` (a span sets its own fields: no object of its own for where it sits).
 */
export function seatInto(seat: Mutable<SpanSeat>, d: TelemetryDecision, trace: SpanTrace): void {
  seat.traceId = trace.traceId;
  seat.sampled = trace.sampled;
  seat.spanOf = undefined;
  seat.spanHex = undefined;
  seat.parentOf = undefined;
  seat.parentHex = undefined;
  const e = d.envelope;
  if (e === undefined) {
    seat.spanOf = d.msgId;
  } else if (d.release === true) {
    seat.spanHex = randomBytes(8).toString('hex');
    seat.parentOf = e.id;
  } else {
    seat.spanOf = e.id;
    if (e.hop > 0 && e.causationid !== undefined) seat.parentOf = e.causationid;
    // A given parent is only ever a caller's span (a release's is its own first decision's).
    else if (trace.callerSpanId !== undefined) seat.parentHex = trace.callerSpanId;
  }
}

/** Where a decision's span sits, with its ids worked out (`seatInto`). */
export function placeOf(d: TelemetryDecision, trace: SpanTrace): SpanPlace {
  const seat = {} as Mutable<SpanSeat>;
  seatInto(seat, d, trace);
  return placeOfSeat(seat);
}

function placeOfSeat(seat: SpanSeat): SpanPlace {
  const { traceId, sampled } = seat;
  const spanId = spanIdIn(seat);
  const parentSpanId = parentSpanIdIn(seat);
  if (parentSpanId === undefined) return { traceId, spanId, sampled };
  return seat.parentHex !== undefined
    ? { traceId, spanId, parentSpanId, sampled, remoteParent: true }
    : { traceId, spanId, parentSpanId, sampled };
}

/** A seat's span id, worked out. */
export function spanIdIn(seat: SpanSeat): string {
  return seat.spanHex ?? spanIdOfAny(seat.spanOf);
}

/** A seat's parent span id, worked out; undefined for a span without a parent. */
export function parentSpanIdIn(seat: SpanSeat): string | undefined {
  return seat.parentHex ?? (seat.parentOf === undefined ? undefined : spanIdOfAny(seat.parentOf));
}

/**
 * `spanIdOf` of an id the types say is text: one that is not (the shape check stops it at the door)
 * is taken as its text, so the official serializer, to which the encoder hands such a span, writes it.
 */
function spanIdOfAny(id: unknown): string {
  return spanIdOf(typeof id === 'string' ? id : String(id));
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * What a decision's span says, flat: the strings and numbers read once from the decision, and not
 * the envelope, whose payload may be large (a queue of spans waiting for a slow collector holds
 * strings, not messages). Every field is always present, so every span's facts have one shape.
 */
export type DecisionFacts = {
  readonly msgId: string;
  readonly gated: 'message' | 'effect';
  readonly decision: TelemetryDecision['verdict']['decision'];
  readonly stage: string;
  readonly rule: string | undefined;
  readonly reason: string;
  /** A stop's detail (its event says it); a pass's is not kept. */
  readonly detail: string | undefined;
  readonly policyDigest: string;
  readonly release: boolean;
  readonly startedAt: number;
  readonly durationMs: number;
  /**
   * False for input refused before it became an envelope: the envelope's fields below are then
   * undefined, `hop` 0.
   */
  readonly enveloped: boolean;
  readonly type: string | undefined;
  readonly subject: string | undefined;
  readonly agent: string | undefined;
  readonly agentVersion: string | undefined;
  readonly hop: number;
  readonly target: string | undefined;
  readonly caseId: string | undefined;
  /** gen_ai's agent is an agent: not an ingress, not a name the policy does not know. */
  readonly genAiAgent: string | undefined;
  readonly model: string | undefined;
};

/** A decision's facts, read once: what its span reports, and nothing of its envelope besides. */
export function factsInto(f: Mutable<DecisionFacts>, d: TelemetryDecision): void {
  const { verdict: v, envelope: e } = d;
  const source = e === undefined ? undefined : parseSource(e.source);
  const agent = e === undefined ? undefined : (source?.name ?? e.source);
  f.msgId = d.msgId;
  f.gated = d.gated;
  f.decision = v.decision;
  f.stage = v.stage;
  f.rule = v.rule;
  f.reason = v.reason;
  f.detail = v.decision === 'deliver' ? undefined : v.detail;
  f.policyDigest = d.policyDigest;
  f.release = d.release === true;
  f.startedAt = d.startedAt;
  f.durationMs = d.durationMs ?? 0;
  f.enveloped = e !== undefined;
  f.type = e?.type;
  f.subject = e?.subject;
  f.agent = agent;
  f.agentVersion = e?.agentversion ?? source?.version;
  f.hop = e?.hop ?? 0;
  f.target = e?.target;
  f.caseId = e?.correlationid;
  f.genAiAgent = d.sender === 'agent' ? agent : undefined;
  f.model = e?.model;
}

/**
 * The span's attributes: Meshwarden's own, then OpenTelemetry's messaging and gen_ai conventions.
 * Only what a span adds: a pass's reason (`gate.admitted`) and kind (`message`) go without saying,
 * and the case's id is `messaging.message.conversation_id`. Each attribute is bytes in every export.
 */
export function attributesOf(d: TelemetryDecision): Attributes {
  const facts = {} as Mutable<DecisionFacts>;
  factsInto(facts, d);
  return attributesFrom(facts);
}

/**
 * `attributesOf` from the facts. decision-protobuf.ts writes the same attributes in the same order
 * without making this object (its test holds the bytes equal to the official serializer's, which
 * reads this); a change here is a change there.
 */
export function attributesFrom(f: DecisionFacts): Attributes {
  const a: Attributes = {
    'meshwarden.verdict': f.decision,
    'meshwarden.stage': f.stage,
    'meshwarden.policy.digest': f.policyDigest,
    'messaging.system': 'meshwarden',
    'messaging.operation.type': 'process',
    'messaging.message.id': f.msgId,
  };
  if (f.decision !== 'deliver') a['meshwarden.reason'] = f.reason;
  if (f.rule !== undefined) a['meshwarden.rule'] = f.rule;
  if (f.gated === 'effect') a['meshwarden.kind'] = 'effect';
  if (f.release) a['meshwarden.release'] = true;
  if (!f.enveloped) return a;
  a['meshwarden.subject'] = f.subject;
  a['meshwarden.agent'] = f.agent;
  if (f.agentVersion !== undefined) a['meshwarden.agent.version'] = f.agentVersion;
  a['meshwarden.hop'] = f.hop;
  if (f.target !== undefined) a['meshwarden.target'] = f.target;
  a['messaging.destination.name'] = f.type;
  a['messaging.message.conversation_id'] = f.caseId;
  if (f.genAiAgent !== undefined) a['gen_ai.agent.name'] = f.genAiAgent;
  if (f.model !== undefined) a['gen_ai.request.model'] = f.model;
  return a;
}

/** hrtime of a `performance.now()` reading, as the epoch time OTLP carries. */
export function hrTimeOf(perfMs: number): HrTime {
  const ms = epochMsOf(perfMs);
  const s = Math.floor(ms / 1000);
  return [s, nanosOf(ms, s)];
}

/** Epoch milliseconds of a `performance.now()` reading. */
export function epochMsOf(perfMs: number): number {
  return TIME_ORIGIN + perfMs;
}

const TIME_ORIGIN = performance.timeOrigin;

/** The nanoseconds past second `s` of `ms`, as `hrTimeOf` rounds them (the encoder makes no HrTime). */
export function nanosOf(ms: number, s: number): number {
  return Math.round((ms - s * 1000) * 1e6);
}

/** A span name's first word (`spanName`). */
export function spanVerb(f: DecisionFacts): 'gate' | 'release' | 'refuse' {
  return !f.enveloped ? 'refuse' : f.release ? 'release' : 'gate';
}

/**
 * `gate <type>`, `release <type>`, or `refuse <kind>` (`refuse message`, `refuse effect`) for input
 * refused before it became an envelope.
 */
export function spanName(f: DecisionFacts): string {
  return `${spanVerb(f)} ${f.enveloped ? f.type : f.gated}`;
}

/** deny and quarantine are errors, with the reason as the status message; a hold waits for a pilot. */
export function spanStatus(f: DecisionFacts): SpanStatus {
  const { decision, reason } = f;
  return decision === 'deny' || decision === 'quarantine'
    ? { code: SpanStatusCode.ERROR, message: reason }
    : UNSET;
}

// Shared by every span without an error (the exporters only read it).
const UNSET: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET });

/** The event every stop (hold included) adds, `meshwarden.<verdict>`, at the span's end; none on a pass. */
export function stopEvent(f: DecisionFacts, endTime: HrTime): TimedEvent | undefined {
  if (f.decision === 'deliver') return undefined;
  const attributes: Attributes = { 'meshwarden.reason': f.reason };
  if (f.detail !== undefined) attributes['meshwarden.detail'] = f.detail;
  return { name: `meshwarden.${f.decision}`, time: endTime, attributes };
}
