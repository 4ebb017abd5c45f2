import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { createProtobufWriter, type ProtobufWriter } from './protobuf-writer.js';
import { type DecisionSpan, SPAN_PLACE } from './spans.js';

/**
 * Decision spans as an OTLP/protobuf ExportTraceServiceRequest, written in one pass: the bytes the
 * official serializer (otlp-transformer's ProtobufTraceSerializer) writes for the same spans, field
 * for field and in its order (decision-protobuf.test.ts holds the two equal; it is the guard when
 * the OpenTelemetry packages are upgraded), at about half its cost. Each attribute key is written
 * from bytes made once, short repeated values too, and every nested message is sized as it is
 * written instead of measuring the whole request first (docs/telemetry.md, "Overhead").
 *
 * `undefined` when the batch is not this encoder's to write (spans of more than one resource or
 * scope, a scope with attributes, a resource attribute that is not a string, a whole number or a
 * boolean): the caller hands it to the official serializer.
 */
export function encodeDecisionSpans(spans: readonly DecisionSpan[]): Uint8Array | undefined {
  const first = spans[0];
  if (first === undefined) return new Uint8Array(0);
  const { resource, instrumentationScope: scope } = first;
  for (const s of spans) if (s.resource !== resource || s.instrumentationScope !== scope) return undefined;
  const head = headOf(resource, scope);
  if (head === undefined) return undefined;
  const w = writer;
  // A batch far larger than usual (long details) does not leave its buffer behind.
  w.reset(1 << 22);
  // ExportTraceServiceRequest.resource_spans (1) › ResourceSpans: resource (1), scope_spans (2) ›
  // ScopeSpans: scope (1), spans (2).
  w.byte(0x0a);
  const resourceSpans = w.startLength();
  w.bytes(head.resource);
  w.byte(0x12);
  const scopeSpans = w.startLength();
  w.bytes(head.scope);
  for (const s of spans) {
    w.byte(0x12);
    if (!writeSpan(w, s)) return undefined;
  }
  w.finishLength(scopeSpans);
  w.finishLength(resourceSpans);
  // A copy: the exporter keeps these bytes until the export is over, retries included, while this
  // writer goes on to the next batch.
  return w.copy();
}

/** Span fields, numbered as in opentelemetry-proto's trace.proto, in the order the official writer puts them. */
function writeSpan(w: ProtobufWriter, span: DecisionSpan): boolean {
  const place = span[SPAN_PLACE];
  const at = w.startLength();
  w.byte(0x0a); // 1 trace_id
  w.byte(16);
  w.hex(place.traceId);
  w.byte(0x12); // 2 span_id
  w.byte(8);
  w.hex(place.spanId);
  if (place.parentSpanId !== undefined) {
    w.byte(0x22); // 4 parent_span_id
    w.byte(8);
    w.hex(place.parentSpanId);
  }
  w.byte(0x2a); // 5 name
  w.string(span.name);
  w.byte(0x30); // 6 kind: SPAN_KIND_CONSUMER (the API's CONSUMER, 3, plus one)
  w.byte(5);
  w.byte(0x39); // 7 start_time_unix_nano
  w.hrTime(span.startTime);
  w.byte(0x41); // 8 end_time_unix_nano
  w.hrTime(span.endTime);
  if (!w.attributes(0x4a, span.attributes)) return false; // 9 attributes
  w.byte(0x50); // 10 dropped_attributes_count
  w.byte(0);
  for (const event of span.events) {
    w.byte(0x5a); // 11 events › Event: time (1), name (2), attributes (3), dropped (4)
    const e = w.startLength();
    w.byte(0x09);
    w.hrTime(event.time);
    w.byte(0x12);
    w.string(event.name);
    if (!w.attributes(0x1a, event.attributes ?? {})) return false;
    w.byte(0x20);
    w.byte(0);
    w.finishLength(e);
  }
  w.byte(0x60); // 12 dropped_events_count
  w.byte(0);
  w.byte(0x70); // 14 dropped_links_count
  w.byte(0);
  const { status } = span;
  w.byte(0x7a); // 15 status › Status: message (2), code (3)
  const s = w.startLength();
  if (status.message) {
    w.byte(0x12);
    w.string(status.message);
  }
  w.byte(0x18);
  w.byte(status.code);
  w.finishLength(s);
  // 16 flags (fixed32; its tag 16 << 3 | 5 is the varint 0x85 0x01): the trace flags, "has
  // is_remote", and "is remote" for a parent (always one seen in a message, not a live span here).
  w.byte(0x85);
  w.byte(0x01);
  w.fixed32((place.sampled ? 1 : 0) | 0x100 | (place.parentSpanId === undefined ? 0 : 0x200));
  w.finishLength(at);
  return true;
}

type Head = { readonly resource: Uint8Array; readonly scope: Uint8Array };

/** The resource and scope fields, the same for every batch of one telemetry: written once. */
const heads = new WeakMap<Resource, WeakMap<InstrumentationScope, Head | 'not mine'>>();

function headOf(resource: Resource, scope: InstrumentationScope): Head | undefined {
  // A resource still detecting attributes is not final: not written, and not remembered either.
  if (resource.asyncAttributesPending === true) return undefined;
  let byScope = heads.get(resource);
  if (byScope === undefined) {
    byScope = new WeakMap();
    heads.set(resource, byScope);
  }
  let head = byScope.get(scope);
  if (head === undefined) {
    head = writeHead(resource, scope) ?? 'not mine';
    byScope.set(scope, head);
  }
  return head === 'not mine' ? undefined : head;
}

function writeHead(resource: Resource, scope: InstrumentationScope): Head | undefined {
  if (resource.schemaUrl || scope.schemaUrl || 'attributes' in scope || 'droppedAttributesCount' in scope)
    return undefined;
  const w = createProtobufWriter(256);
  // ResourceSpans.resource (1) › Resource: attributes (1), dropped_attributes_count (2).
  w.byte(0x0a);
  let at = w.startLength();
  if (!w.attributes(0x0a, resource.attributes)) return undefined;
  w.byte(0x10);
  w.byte(0);
  w.finishLength(at);
  const resourceBytes = w.copy();
  // ScopeSpans.scope (1) › InstrumentationScope: name (1), version (2).
  w.reset();
  w.byte(0x0a);
  at = w.startLength();
  w.byte(0x0a);
  w.string(scope.name);
  if (scope.version) {
    w.byte(0x12);
    w.string(scope.version);
  }
  w.finishLength(at);
  return { resource: resourceBytes, scope: w.copy() };
}

/** One writer for every batch; what it wrote is handed on as a copy. */
const writer = createProtobufWriter(1 << 16);
