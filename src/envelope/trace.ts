import { hex } from './hex.js';

/** A W3C `traceparent` for a new trace (16 random bytes for the trace id, 8 for the span id). */
export function newTraceparent(traceId: Uint8Array, spanId: Uint8Array): string {
  return `00-${hex(traceId.subarray(0, 16))}-${hex(spanId.subarray(0, 8))}-01`;
}

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** A child `traceparent`: same trace, new span. Falls back to a new trace when the parent is malformed. */
export function childTraceparent(
  parent: string | undefined,
  spanId: Uint8Array,
  traceId: Uint8Array,
): string {
  // `test` and slices, not `exec`: no match array per message.
  if (parent === undefined || !TRACEPARENT.test(parent)) return newTraceparent(traceId, spanId);
  return `00-${parent.slice(3, 35)}-${hex(spanId.subarray(0, 8))}-${parent.slice(53)}`;
}
