import { randomBytes } from 'node:crypto';
import {
  type Attributes,
  type HrTime,
  type Link,
  type SpanContext,
  SpanKind,
  type SpanStatus,
  SpanStatusCode,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';
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
  const traceId = carried ?? randomBytes(16).toString('hex');
  // The sampled flag is bit 0 of the trace flags (W3C trace context); other bits may be set.
  const sampled = carried === undefined || (Number.parseInt(e.traceparent!.slice(53), 16) & 1) === 1;
  if (d.release === true || (e.hop > 0 && e.causationid !== undefined)) return { traceId, sampled };
  const named = carried === undefined ? undefined : e.traceparent!.slice(36, 52);
  return named === undefined || named === spanIdOf(e.id)
    ? { traceId, sampled }
    : { traceId, sampled, callerSpanId: named };
}

/**
 * The span a decision is exported as. Its id is the one the message's own `traceparent` names
 * (envelope/trace.ts: made of the message id), so whatever received the message (a remote agent over
 * HTTP or A2A) sits under it; its parent is the decision on the message that caused it (same rule,
 * from `causationid`). A root's parent is the span its traceparent names when that is not its own
 * (a caller's); else it is the trace's root. A release (gated again after a pilot's approval) is a
 * child of the first decision, with an id of its own. `trace` is the decision's `traceOf`, made once:
 * for a malformed traceparent it holds a random trace id, which sampling and placing must share.
 */
export function placeOf(d: TelemetryDecision, trace: SpanTrace): SpanPlace {
  const { traceId, sampled, callerSpanId } = trace;
  const e = d.envelope;
  if (e === undefined) return { traceId, spanId: spanIdOf(d.msgId), sampled };
  const own = spanIdOf(e.id);
  if (d.release === true)
    return { traceId, spanId: randomBytes(8).toString('hex'), parentSpanId: own, sampled };
  if (e.hop > 0 && e.causationid !== undefined)
    return { traceId, spanId: own, parentSpanId: spanIdOf(e.causationid), sampled };
  return callerSpanId === undefined
    ? { traceId, spanId: own, sampled }
    : { traceId, spanId: own, parentSpanId: callerSpanId, sampled, remoteParent: true };
}

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
function factsOf(d: TelemetryDecision): DecisionFacts {
  const { verdict: v, envelope: e } = d;
  const source = e === undefined ? undefined : parseSource(e.source);
  const agent = e === undefined ? undefined : (source?.name ?? e.source);
  return {
    msgId: d.msgId,
    gated: d.gated,
    decision: v.decision,
    stage: v.stage,
    rule: v.rule,
    reason: v.reason,
    detail: v.decision === 'deliver' ? undefined : v.detail,
    policyDigest: d.policyDigest,
    release: d.release === true,
    startedAt: d.startedAt,
    durationMs: d.durationMs ?? 0,
    enveloped: e !== undefined,
    type: e?.type,
    subject: e?.subject,
    agent,
    agentVersion: e?.agentversion ?? source?.version,
    hop: e?.hop ?? 0,
    target: e?.target,
    caseId: e?.correlationid,
    genAiAgent: d.sender === 'agent' ? agent : undefined,
    model: e?.model,
  };
}

/**
 * The span's attributes: Meshwarden's own, then OpenTelemetry's messaging and gen_ai conventions.
 * Only what a span adds: a pass's reason (`gate.admitted`) and kind (`message`) go without saying,
 * and the case's id is `messaging.message.conversation_id`. Each attribute is bytes in every export.
 */
export function attributesOf(d: TelemetryDecision): Attributes {
  return attributesFrom(factsOf(d));
}

/**
 * `attributesOf` from the facts. decision-protobuf.ts writes the same attributes in the same order
 * without making this object (its test holds the bytes equal to the official serializer's, which
 * reads this); a change here is a change there.
 */
function attributesFrom(f: DecisionFacts): Attributes {
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

// Shared by every span without events or links (the exporters only read them).
const NO_EVENTS: TimedEvent[] = [];
const NO_LINKS: Link[] = [];

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

function durationOf(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, nanosOf(ms, s)];
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

/** Where a span made by `decisionSpan` sits: the encoder (decision-protobuf.ts) reads the ids from it. */
export const SPAN_PLACE: unique symbol = Symbol('meshwarden.span.place');
/** What a span made by `decisionSpan` says: the encoder writes it from these. */
export const SPAN_FACTS: unique symbol = Symbol('meshwarden.span.facts');

/** A decision's span: a ReadableSpan that also says where it sits and, flat, what it says. */
export type DecisionSpan = ReadableSpan & {
  readonly [SPAN_PLACE]: SpanPlace;
  readonly [SPAN_FACTS]: DecisionFacts;
};

export function isDecisionSpan(span: ReadableSpan): span is DecisionSpan {
  return SPAN_PLACE in span;
}

/**
 * A finished span, built as the SDK's exporters read one (ReadableSpan), not through a Tracer: its
 * ids are the envelope's, which the Tracer API does not let one choose, and one small object per
 * decision costs less than a live Span.
 */
export function decisionSpan(
  d: TelemetryDecision,
  place: SpanPlace,
  resource: Resource,
  scope: InstrumentationScope,
): DecisionSpan {
  return new DecisionSpanRecord(factsOf(d), place, resource, scope);
}

/**
 * One class for every decision span (a class for its getters and `spanContext` on one prototype,
 * where an object literal would carry them per span): its facts, where it sits, and nothing else.
 * What the SDK's readers take as objects (attributes, times, contexts, status, events) is made when
 * one reads it, anew at each read: the batch span processor reads only the context's flags and the
 * resource, and decision-protobuf.ts writes the rest from the facts, so a span that goes out that
 * way never makes them (docs/telemetry.md, "Overhead"). A ReadableSpan is read, not edited: a copy
 * made by spreading it has none of the getters.
 */
class DecisionSpanRecord implements DecisionSpan {
  readonly [SPAN_PLACE]: SpanPlace;
  readonly [SPAN_FACTS]: DecisionFacts;
  readonly kind = SpanKind.CONSUMER;
  readonly links = NO_LINKS;
  readonly ended = true;
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;

  constructor(facts: DecisionFacts, place: SpanPlace, resource: Resource, scope: InstrumentationScope) {
    this[SPAN_FACTS] = facts;
    this[SPAN_PLACE] = place;
    this.resource = resource;
    this.instrumentationScope = scope;
  }

  get name(): string {
    return spanName(this[SPAN_FACTS]);
  }
  get attributes(): Attributes {
    return attributesFrom(this[SPAN_FACTS]);
  }
  get startTime(): HrTime {
    return hrTimeOf(this[SPAN_FACTS].startedAt);
  }
  get endTime(): HrTime {
    const f = this[SPAN_FACTS];
    return hrTimeOf(f.startedAt + f.durationMs);
  }
  get duration(): HrTime {
    return durationOf(this[SPAN_FACTS].durationMs);
  }
  get status(): SpanStatus {
    return spanStatus(this[SPAN_FACTS]);
  }
  get events(): TimedEvent[] {
    const event = stopEvent(this[SPAN_FACTS], this.endTime);
    return event === undefined ? NO_EVENTS : [event];
  }
  get parentSpanContext(): SpanContext | undefined {
    const place = this[SPAN_PLACE];
    return place.parentSpanId === undefined
      ? undefined
      : { traceId: place.traceId, spanId: place.parentSpanId, traceFlags: flagsOf(place), isRemote: true };
  }
  spanContext(): SpanContext {
    const place = this[SPAN_PLACE];
    return { traceId: place.traceId, spanId: place.spanId, traceFlags: flagsOf(place) };
  }
}

function flagsOf(place: SpanPlace): number {
  return place.sampled ? 1 : 0;
}
