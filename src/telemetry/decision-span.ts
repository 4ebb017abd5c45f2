import {
  type Attributes,
  type HrTime,
  type Link,
  type SpanContext,
  SpanKind,
  type SpanStatus,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';
import {
  attributesFrom,
  type DecisionFacts,
  factsInto,
  hrTimeOf,
  type Mutable,
  nanosOf,
  parentSpanIdIn,
  type SpanSeat,
  type SpanTrace,
  seatInto,
  spanIdIn,
  spanName,
  spanStatus,
  stopEvent,
  type TelemetryDecision,
} from './spans.js';

// A decision's span as the SDK's exporters read it (spans.ts says what it holds and where it sits).

// Shared by every span without events or links (the exporters only read them).
const NO_EVENTS: TimedEvent[] = [];
const NO_LINKS: Link[] = [];

function durationOf(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, nanosOf(ms, s)];
}

/**
 * A decision's span: a ReadableSpan that also holds, flat, what it says and where it sits (the
 * encoder, decision-protobuf.ts, writes it from these).
 */
export type DecisionSpan = ReadableSpan & DecisionFacts & SpanSeat;

export function isDecisionSpan(span: ReadableSpan): span is DecisionSpan {
  return span instanceof DecisionSpanRecord;
}

/**
 * A finished span, built as the SDK's exporters read one (ReadableSpan), not through a Tracer: its
 * ids are the envelope's, which the Tracer API does not let one choose, and one small object per
 * decision costs less than a live Span. `trace` is the decision's `traceOf`.
 */
export function decisionSpan(
  d: TelemetryDecision,
  trace: SpanTrace,
  resource: Resource,
  scope: InstrumentationScope,
): DecisionSpan {
  return new DecisionSpanRecord(d, trace, resource, scope);
}

/**
 * One class for every decision span (a class for its getters and `spanContext` on one prototype,
 * where an object literal would carry them per span), and one object per span: its facts and where
 * it sits are its own fields, and its span ids are worked out only when read or written (a span
 * waits in the batch processor's queue until its batch is exported, and what it holds there the
 * garbage collector copies). What the SDK's readers take as objects (attributes, times, contexts,
 * status, events) is made when one reads it, anew at each read: the batch span processor reads only
 * the context's flags and the resource, and decision-protobuf.ts writes the rest from the fields, so
 * a span that goes out that way never makes them (docs/telemetry.md, "Overhead"). A ReadableSpan is
 * read, not edited: a copy made by spreading it has none of the getters.
 */
class DecisionSpanRecord implements DecisionSpan {
  readonly msgId!: string;
  readonly gated!: 'message' | 'effect';
  readonly decision!: DecisionFacts['decision'];
  readonly stage!: string;
  readonly rule!: string | undefined;
  readonly reason!: string;
  readonly detail!: string | undefined;
  readonly policyDigest!: string;
  readonly release!: boolean;
  readonly startedAt!: number;
  readonly durationMs!: number;
  readonly enveloped!: boolean;
  readonly type!: string | undefined;
  readonly subject!: string | undefined;
  readonly agent!: string | undefined;
  readonly agentVersion!: string | undefined;
  readonly hop!: number;
  readonly target!: string | undefined;
  readonly caseId!: string | undefined;
  readonly genAiAgent!: string | undefined;
  readonly model!: string | undefined;
  readonly traceId!: string;
  readonly spanOf!: string | undefined;
  readonly spanHex!: string | undefined;
  readonly parentOf!: string | undefined;
  readonly parentHex!: string | undefined;
  readonly sampled!: boolean;
  readonly kind = SpanKind.CONSUMER;
  readonly links = NO_LINKS;
  readonly ended = true;
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;

  constructor(d: TelemetryDecision, trace: SpanTrace, resource: Resource, scope: InstrumentationScope) {
    factsInto(this as Mutable<DecisionFacts>, d);
    seatInto(this as Mutable<SpanSeat>, d, trace);
    this.resource = resource;
    this.instrumentationScope = scope;
  }

  get name(): string {
    return spanName(this);
  }
  get attributes(): Attributes {
    return attributesFrom(this);
  }
  get startTime(): HrTime {
    return hrTimeOf(this.startedAt);
  }
  get endTime(): HrTime {
    return hrTimeOf(this.startedAt + this.durationMs);
  }
  get duration(): HrTime {
    return durationOf(this.durationMs);
  }
  get status(): SpanStatus {
    return spanStatus(this);
  }
  get events(): TimedEvent[] {
    const event = stopEvent(this, this.endTime);
    return event === undefined ? NO_EVENTS : [event];
  }
  get parentSpanContext(): SpanContext | undefined {
    const parentSpanId = parentSpanIdIn(this);
    return parentSpanId === undefined
      ? undefined
      : { traceId: this.traceId, spanId: parentSpanId, traceFlags: flagsOf(this), isRemote: true };
  }
  spanContext(): SpanContext {
    return new SeatContext(this);
  }
}

const SEAT = Symbol('seat');

/**
 * A span's context whose span id is worked out when read: the batch span processor asks every span
 * for its context to read its flags alone. A copy made by spreading it has no span id.
 */
class SeatContext implements SpanContext {
  readonly traceId: string;
  readonly traceFlags: number;
  // A symbol, not a private field: a Proxy of the context, or an object made from it, still reads it.
  readonly [SEAT]: SpanSeat;
  constructor(seat: SpanSeat) {
    this.traceId = seat.traceId;
    this.traceFlags = flagsOf(seat);
    this[SEAT] = seat;
  }
  get spanId(): string {
    return spanIdIn(this[SEAT]);
  }
  toJSON(): SpanContext {
    return { traceId: this.traceId, spanId: this.spanId, traceFlags: this.traceFlags };
  }
}

function flagsOf(seat: SpanSeat): number {
  return seat.sampled ? 1 : 0;
}
