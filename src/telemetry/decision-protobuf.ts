import type { Attributes, HrTime } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import {
  attributesOf,
  type DecisionSpan,
  hrTimeOf,
  type SpanPlace,
  spanName,
  spanStatus,
  stopEvent,
  type TelemetryDecision,
} from './spans.js';

/**
 * Decision spans as an OTLP/protobuf ExportTraceServiceRequest, written in one pass straight from the
 * decisions: the bytes the official serializer (otlp-transformer's ProtobufTraceSerializer) writes
 * for the same spans, field for field and in its order (decision-protobuf.test.ts holds the two
 * equal), at a fraction of its cost. It needs no ReadableSpan made per decision, writes each
 * attribute key from bytes made once, and sizes every nested message before writing it instead of
 * measuring the request twice. At the mesh's full speed that is the difference between tracing every
 * decision within the 10 % overhead target and not (docs/telemetry.md, "Overhead").
 *
 * `undefined` when the batch is not this encoder's to write (spans of more than one resource or
 * scope, or a resource attribute that is not a string, number or boolean): the caller hands it to
 * the official serializer.
 */
export function encodeDecisionSpans(spans: readonly DecisionSpan[]): Uint8Array | undefined {
  const first = spans[0];
  if (first === undefined) return new Uint8Array(0);
  const { resource, instrumentationScope: scope } = first;
  for (const s of spans) if (s.resource !== resource || s.instrumentationScope !== scope) return undefined;
  const head = headOf(resource, scope);
  if (head === undefined) return undefined;
  const w = writer;
  w.pos = 0;
  // ExportTraceServiceRequest.resource_spans (1) › ResourceSpans: resource (1), scope_spans (2) ›
  // ScopeSpans: scope (1), spans (2).
  w.byte(0x0a);
  const resourceSpans = w.open();
  w.bytes(head.resource);
  w.byte(0x12);
  const scopeSpans = w.open();
  w.bytes(head.scope);
  for (const s of spans) {
    w.byte(0x12);
    if (!writeSpan(w, s.decision, s.place)) return undefined;
  }
  w.close(scopeSpans);
  w.close(resourceSpans);
  return w.buf.slice(0, w.pos);
}

/** Span fields, numbered as in opentelemetry-proto's trace.proto, in the order the official writer puts them. */
function writeSpan(w: Writer, d: TelemetryDecision, place: SpanPlace): boolean {
  const span = w.open();
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
  w.string(spanName(d));
  w.byte(0x30); // 6 kind: SPAN_KIND_CONSUMER
  w.byte(5);
  const start = hrTimeOf(d.startedAt);
  const end = hrTimeOf(d.startedAt + (d.durationMs ?? 0));
  w.byte(0x39); // 7 start_time_unix_nano
  w.hrTime(start);
  w.byte(0x41); // 8 end_time_unix_nano
  w.hrTime(end);
  if (!w.attributes(0x4a, attributesOf(d))) return false; // 9 attributes
  w.byte(0x50); // 10 dropped_attributes_count
  w.byte(0);
  const event = stopEvent(d, end);
  if (event !== undefined) {
    w.byte(0x5a); // 11 events › Event: time (1), name (2), attributes (3), dropped (4)
    const at = w.open();
    w.byte(0x09);
    w.hrTime(event.time as HrTime);
    w.byte(0x12);
    w.string(event.name);
    if (!w.attributes(0x1a, event.attributes ?? {})) return false;
    w.byte(0x20);
    w.byte(0);
    w.close(at);
  }
  w.byte(0x60); // 12 dropped_events_count
  w.byte(0);
  w.byte(0x70); // 14 dropped_links_count
  w.byte(0);
  const status = spanStatus(d);
  w.byte(0x7a); // 15 status › Status: message (2), code (3)
  const at = w.open();
  if (status.message) {
    w.byte(0x12);
    w.string(status.message);
  }
  w.byte(0x18);
  w.byte(status.code);
  w.close(at);
  // 16 flags (fixed32): the trace flags, "has is_remote", and "is remote" for a parent (always one
  // seen in a message, not a live span of this process).
  w.byte(0x85);
  w.byte(0x01);
  w.fixed32((place.sampled ? 1 : 0) | 0x100 | (place.parentSpanId === undefined ? 0 : 0x200));
  w.close(span);
  return true;
}

type Head = { readonly resource: Uint8Array; readonly scope: Uint8Array };

/** The resource and scope fields, the same for every batch of one telemetry: written once. */
const heads = new WeakMap<Resource, WeakMap<InstrumentationScope, Head | null>>();

function headOf(resource: Resource, scope: InstrumentationScope): Head | undefined {
  let byScope = heads.get(resource);
  if (byScope === undefined) {
    byScope = new WeakMap();
    heads.set(resource, byScope);
  }
  let head = byScope.get(scope);
  if (head === undefined) {
    head = writeHead(resource, scope);
    byScope.set(scope, head);
  }
  return head ?? undefined;
}

function writeHead(resource: Resource, scope: InstrumentationScope): Head | null {
  if (resource.asyncAttributesPending === true || resource.schemaUrl) return null;
  if (scope.schemaUrl) return null;
  const w = new Writer(256);
  // ResourceSpans.resource (1) › Resource: attributes (1), dropped_attributes_count (2).
  w.byte(0x0a);
  let at = w.open();
  if (!w.attributes(0x0a, resource.attributes)) return null;
  w.byte(0x10);
  w.byte(0);
  w.close(at);
  const resourceBytes = w.buf.slice(0, w.pos);
  // ScopeSpans.scope (1) › InstrumentationScope: name (1), version (2).
  w.pos = 0;
  w.byte(0x0a);
  at = w.open();
  w.byte(0x0a);
  w.string(scope.name);
  if (scope.version) {
    w.byte(0x12);
    w.string(scope.version);
  }
  w.close(at);
  return { resource: resourceBytes, scope: w.buf.slice(0, w.pos) };
}

const utf8 = new TextEncoder();

/** Each attribute key's KeyValue.key field (tag, length, UTF-8), made once per key. */
const keyFields = new Map<string, Uint8Array>();

function keyField(key: string): Uint8Array {
  let field = keyFields.get(key);
  if (field === undefined) {
    const bytes = utf8.encode(key);
    field = new Uint8Array([0x0a, ...varintBytes(bytes.length), ...bytes]);
    // Keys are the span's own (a fixed set) and the resource's: bounded, but not trusted to be.
    if (keyFields.size < 1024) keyFields.set(key, field);
  }
  return field;
}

/**
 * Whole KeyValues (length and body) of string values that repeat from span to span, per key: a
 * verdict, a stage, the policy digest, an agent's name and version, a message type. A key whose
 * values do not repeat (message and case ids, subjects, details) stops being kept once it has
 * VALUES_KEPT of them, and is written afresh each time.
 */
const keptValues = new Map<string, Map<string, Uint8Array> | null>();
const VALUES_KEPT = 256;

function keptKeyValue(key: string, value: string): Uint8Array | undefined {
  let values = keptValues.get(key);
  if (values === null) return undefined;
  if (values === undefined) {
    if (keptValues.size >= 1024) return undefined;
    values = new Map();
    keptValues.set(key, values);
  }
  let kept = values.get(value);
  if (kept !== undefined) return kept;
  if (values.size >= VALUES_KEPT) {
    keptValues.set(key, null);
    return undefined;
  }
  scratch.pos = 0;
  scratch.stringKeyValue(keyField(key), value);
  kept = scratch.buf.slice(0, scratch.pos);
  values.set(value, kept);
  return kept;
}

function varintBytes(v: number): number[] {
  const out: number[] = [];
  while (v > 127) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** ASCII strings (nearly every value) are measured and copied by hand; the rest by the TextEncoder. */
function utf8Length(s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return n;
}

/** A growing byte buffer with the few protobuf writes a span needs. */
class Writer {
  buf: Uint8Array;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }
  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.room(n);
    // A loop beats set() for the few bytes of a key or a kept value.
    if (n > 64) this.buf.set(b, this.pos);
    else for (let i = 0; i < n; i++) this.buf[this.pos + i] = b[i]!;
    this.pos += n;
  }
  varint(v: number): void {
    this.room(5);
    while (v > 127) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }
  fixed32(v: number): void {
    this.room(4);
    const { buf } = this;
    buf[this.pos++] = v & 0xff;
    buf[this.pos++] = (v >>> 8) & 0xff;
    buf[this.pos++] = (v >>> 16) & 0xff;
    buf[this.pos++] = (v >>> 24) & 0xff;
  }
  /** An HrTime as fixed64 nanoseconds since the epoch, in two 32-bit halves (no BigInt). */
  hrTime([seconds, nanos]: HrTime): void {
    const lowSeconds = (seconds & 0xffff) * 1e9;
    const highSeconds = Math.floor(seconds / 0x10000) * 1e9;
    const low = (lowSeconds >>> 0) + (((highSeconds & 0xffff) * 0x10000) >>> 0) + nanos;
    const high =
      Math.floor(lowSeconds / 0x100000000) +
      Math.floor(highSeconds / 0x10000) +
      Math.floor(low / 0x100000000);
    this.fixed32(low >>> 0);
    this.fixed32(high >>> 0);
  }
  /** 2n hex digits as n bytes. */
  hex(h: string): void {
    const n = h.length >>> 1;
    this.room(n);
    for (let i = 0; i < n; i++)
      this.buf[this.pos++] = (nibble(h.charCodeAt(2 * i)) << 4) | nibble(h.charCodeAt(2 * i + 1));
  }
  /** A length-prefixed UTF-8 string. */
  string(s: string): void {
    this.stringOf(s, utf8Length(s));
  }
  stringOf(s: string, length: number): void {
    this.varint(length);
    this.room(length);
    if (length === s.length) {
      const { buf } = this;
      for (let i = 0; i < length; i++) buf[this.pos++] = s.charCodeAt(i);
    } else this.pos += utf8.encodeInto(s, this.buf.subarray(this.pos)).written;
  }
  /** Reserves one byte for a length; `close` writes it, moving the message on when it needs more. */
  open(): number {
    this.room(1);
    return this.pos++;
  }
  close(at: number): void {
    const length = this.pos - at - 1;
    const size = varintSize(length);
    if (size > 1) {
      this.room(size - 1);
      this.buf.copyWithin(at + size, at + 1, this.pos);
      this.pos += size - 1;
    }
    let v = length;
    let i = at;
    while (v > 127) {
      this.buf[i++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[i] = v;
  }
  /**
   * Each attribute as a KeyValue (key 1, AnyValue 2) under field `tag`, sized before it is written.
   * False at a value this writer does not take (a negative, fractional or huge number, a list): the
   * batch then goes to the official serializer. A decision's attributes are strings, booleans and
   * its hop.
   */
  attributes(tag: number, attributes: Attributes): boolean {
    for (const key in attributes) {
      const value = attributes[key];
      if (typeof value === 'string') {
        const kept = keptKeyValue(key, value);
        this.byte(tag);
        if (kept !== undefined) this.bytes(kept);
        else this.stringKeyValue(keyField(key), value);
      } else if (typeof value === 'boolean') {
        this.byte(tag);
        this.keyValue(keyField(key), 2); // AnyValue.bool_value (2)
        this.byte(0x10);
        this.byte(value ? 1 : 0);
      } else if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 2 ** 31) {
        this.byte(tag);
        this.keyValue(keyField(key), 1 + varintSize(value)); // AnyValue.int_value (3)
        this.byte(0x18);
        this.varint(value);
      } else return false;
    }
    return true;
  }
  /** A KeyValue's length and body with a string value: AnyValue.string_value (1). */
  stringKeyValue(field: Uint8Array, value: string): void {
    const length = utf8Length(value);
    this.keyValue(field, 1 + varintSize(length) + length);
    this.byte(0x0a);
    this.stringOf(value, length);
  }
  private keyValue(field: Uint8Array, any: number): void {
    this.varint(field.length + 1 + varintSize(any) + any);
    this.bytes(field);
    this.byte(0x12);
    this.varint(any);
  }
}

function nibble(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
}

/** One writer for every batch (the exporter hands the bytes on as a copy) and one for kept values. */
const writer = new Writer(1 << 16);
const scratch = new Writer(256);
