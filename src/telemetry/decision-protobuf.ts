import { SpanStatusCode } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { spanIdIsTailOf, spanIdOf } from '../envelope/index.js';
import type { DecisionSpan } from './decision-span.js';
import {
  attributeKey,
  createProtobufWriter,
  type ProtobufWriter,
  stringKeyValueBytes,
} from './protobuf-writer.js';
import { type DecisionFacts, epochMsOf, nanosOf, type SpanSeat, spanVerb } from './spans.js';

/**
 * Decision spans as an OTLP/protobuf ExportTraceServiceRequest, written in one pass: the bytes the
 * official serializer (otlp-transformer's ProtobufTraceSerializer) writes for the same spans, field
 * for field and in its order (decision-protobuf.test.ts holds the two equal; it is the guard when
 * the OpenTelemetry packages are upgraded), at about a third of its cost. Each attribute key is written
 * from bytes made once, short repeated values too, and every nested message is sized as it is
 * written instead of measuring the whole request first (docs/telemetry.md, "Overhead").
 *
 * `undefined` when the batch is not this encoder's to write (spans of more than one resource or
 * scope, a scope with attributes, a resource attribute that is not a string, a whole number or a
 * boolean; a span whose hop is not a whole number below 2^31, or whose text fields are not all
 * text): the caller hands it to the official serializer.
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

/**
 * Span fields, numbered as in opentelemetry-proto's trace.proto, in the order the official writer
 * puts them. Written from the span's facts (spans.ts), not from the objects the SDK's readers take
 * (attributes, times, status, events), which a decision span makes only when one reads them.
 */
function writeSpan(w: ProtobufWriter, f: DecisionSpan): boolean {
  // The types say these are text; a value that is not goes to the official serializer, not to a throw.
  if (!textual(f)) return false;
  const at = w.startLength();
  w.byte(0x0a); // 1 trace_id
  w.byte(16);
  w.hex(f.traceId);
  w.byte(0x12); // 2 span_id
  w.byte(8);
  writeSpanId(w, f.spanHex, f.spanOf);
  const parented = f.parentHex !== undefined || f.parentOf !== undefined;
  if (parented) {
    w.byte(0x22); // 4 parent_span_id
    w.byte(8);
    writeSpanId(w, f.parentHex, f.parentOf);
  }
  w.byte(0x2a); // 5 name: spans.ts's spanName, its first word from bytes made once
  w.prefixedString(NAME_VERBS[spanVerb(f)], f.enveloped ? f.type! : f.gated);
  w.byte(0x30); // 6 kind: SPAN_KIND_CONSUMER (the API's CONSUMER, 3, plus one)
  w.byte(5);
  w.byte(0x39); // 7 start_time_unix_nano
  writeTime(w, f.startedAt);
  const ended = f.startedAt + f.durationMs;
  w.byte(0x41); // 8 end_time_unix_nano
  writeTime(w, ended);
  if (!writeAttributes(w, f)) return false; // 9 attributes
  w.byte(0x50); // 10 dropped_attributes_count
  w.byte(0);
  if (f.decision !== 'deliver') {
    // 11 events › Event: time (1), name (2), attributes (3), dropped (4); spans.ts's stopEvent.
    w.byte(0x5a);
    const e = w.startLength();
    w.byte(0x09);
    writeTime(w, ended);
    w.byte(0x12);
    w.string(`meshwarden.${f.decision}`);
    w.stringAttribute(0x1a, KEYS.reason, f.reason);
    if (f.detail !== undefined) w.stringAttribute(0x1a, KEYS.detail, f.detail);
    w.byte(0x20);
    w.byte(0);
    w.finishLength(e);
  }
  w.byte(0x60); // 12 dropped_events_count
  w.byte(0);
  w.byte(0x70); // 14 dropped_links_count
  w.byte(0);
  // 15 status › Status: message (2), code (3); spans.ts's spanStatus: deny and quarantine are errors.
  const error = f.decision === 'deny' || f.decision === 'quarantine';
  w.byte(0x7a);
  const s = w.startLength();
  if (error && f.reason) {
    w.byte(0x12);
    w.string(f.reason);
  }
  w.byte(0x18);
  w.byte(error ? SpanStatusCode.ERROR : SpanStatusCode.UNSET);
  w.finishLength(s);
  // 16 flags (fixed32; its tag 16 << 3 | 5 is the varint 0x85 0x01): the trace flags, "has
  // is_remote", and "is remote" for a parent (always one seen in a message, not a live span here).
  w.byte(0x85);
  w.byte(0x01);
  w.fixed32((f.sampled ? 1 : 0) | 0x100 | (parented ? 0x200 : 0));
  w.finishLength(at);
  return true;
}

/**
 * A span id (spans.ts's `SpanSeat`): given, or `spanIdOf` the id it is made of, whose digits a UUID
 * holds where they are (no string is made for them).
 */
function writeSpanId(w: ProtobufWriter, hex: string | undefined, of: string | undefined): void {
  if (hex !== undefined) {
    w.hex(hex);
  } else if (spanIdIsTailOf(of!)) {
    w.hexRange(of!, 19, 23);
    w.hexRange(of!, 24, 36);
  } else {
    w.hex(spanIdOf(of!));
  }
}

/** spans.ts's hrTimeOf, written without the array. */
function writeTime(w: ProtobufWriter, perfMs: number): void {
  const ms = epochMsOf(perfMs);
  const s = Math.floor(ms / 1000);
  w.time(s, nanosOf(ms, s));
}

/**
 * spans.ts's `attributesFrom`, written from the facts in its order: the bytes the official
 * serializer writes from the object that function makes (the test holds them equal).
 */
function writeAttributes(w: ProtobufWriter, f: DecisionFacts): boolean {
  const t = 0x4a;
  w.stringAttribute(t, KEYS.verdict, f.decision);
  w.stringAttribute(t, KEYS.stage, f.stage);
  w.stringAttribute(t, KEYS.policyDigest, f.policyDigest);
  w.byte(t);
  w.bytes(MESSAGING_SYSTEM);
  w.byte(t);
  w.bytes(MESSAGING_OPERATION);
  w.stringAttribute(t, KEYS.messageId, f.msgId);
  if (f.decision !== 'deliver') w.stringAttribute(t, KEYS.reason, f.reason);
  if (f.rule !== undefined) w.stringAttribute(t, KEYS.rule, f.rule);
  if (f.gated === 'effect') w.stringAttribute(t, KEYS.kind, 'effect');
  if (f.release) w.booleanAttribute(t, KEYS.release, true);
  if (!f.enveloped) return true;
  w.stringAttribute(t, KEYS.subject, f.subject!);
  w.stringAttribute(t, KEYS.agent, f.agent!);
  if (f.agentVersion !== undefined) w.stringAttribute(t, KEYS.agentVersion, f.agentVersion);
  if (!w.integerAttribute(t, KEYS.hop, f.hop)) return false;
  if (f.target !== undefined) w.stringAttribute(t, KEYS.target, f.target);
  w.stringAttribute(t, KEYS.destination, f.type!);
  w.stringAttribute(t, KEYS.conversation, f.caseId!);
  if (f.genAiAgent !== undefined) w.stringAttribute(t, KEYS.genAiAgent, f.genAiAgent);
  if (f.model !== undefined) w.stringAttribute(t, KEYS.model, f.model);
  return true;
}

/** Whether every text field the encoder writes is text (or absent where it may be). */
function textual(f: DecisionFacts & SpanSeat): boolean {
  if (!text(f.msgId) || !text(f.decision) || !text(f.stage) || !text(f.reason) || !text(f.policyDigest))
    return false;
  if (!text(f.traceId) || !text(f.spanHex ?? f.spanOf)) return false;
  if (!optional(f.parentHex) || !optional(f.parentOf)) return false;
  if (!optional(f.rule) || !optional(f.detail)) return false;
  if (!f.enveloped) return true;
  return (
    text(f.type) &&
    text(f.subject) &&
    text(f.agent) &&
    text(f.caseId) &&
    optional(f.agentVersion) &&
    optional(f.target) &&
    optional(f.genAiAgent) &&
    optional(f.model)
  );
}

function text(v: unknown): boolean {
  return typeof v === 'string';
}

function optional(v: unknown): boolean {
  return v === undefined || typeof v === 'string';
}

const KEYS = {
  verdict: attributeKey('meshwarden.verdict'),
  stage: attributeKey('meshwarden.stage'),
  policyDigest: attributeKey('meshwarden.policy.digest'),
  messageId: attributeKey('messaging.message.id'),
  reason: attributeKey('meshwarden.reason'),
  detail: attributeKey('meshwarden.detail'),
  rule: attributeKey('meshwarden.rule'),
  kind: attributeKey('meshwarden.kind'),
  release: attributeKey('meshwarden.release'),
  subject: attributeKey('meshwarden.subject'),
  agent: attributeKey('meshwarden.agent'),
  agentVersion: attributeKey('meshwarden.agent.version'),
  hop: attributeKey('meshwarden.hop'),
  target: attributeKey('meshwarden.target'),
  destination: attributeKey('messaging.destination.name'),
  conversation: attributeKey('messaging.message.conversation_id'),
  genAiAgent: attributeKey('gen_ai.agent.name'),
  model: attributeKey('gen_ai.request.model'),
};

const MESSAGING_SYSTEM = stringKeyValueBytes(attributeKey('messaging.system'), 'meshwarden');
const MESSAGING_OPERATION = stringKeyValueBytes(attributeKey('messaging.operation.type'), 'process');

const utf8 = new TextEncoder();
const NAME_VERBS = {
  gate: utf8.encode('gate '),
  release: utf8.encode('release '),
  refuse: utf8.encode('refuse '),
} as const;

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
