import { createHash } from 'node:crypto';

/**
 * The span id a message's own `traceparent` names: the span of its gate decision (telemetry/ exports
 * it under this id). Made of the message id, not of chance, so whoever reads a decision later (a
 * child's, through its `causationid`) names its parent's span without looking the parent up: the
 * last 16 hex digits of a UUID (the random tail of a UUIDv7, its variant bits keep it non-zero), or
 * the first 16 of SHA-256 of any other id.
 */
export function spanIdOf(id: string): string {
  if (UUID.test(id)) return id.slice(19, 23) + id.slice(24);
  return createHash('sha256').update(id).digest('hex').slice(0, 16);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * The trace id of a case: made of its root message's id (its `correlationid`), as the span id is of
 * a message's (the UUID's 32 hex digits, or the first 32 of SHA-256 of any other id). A message
 * the gate links into an earlier case (an echo) then joins that case's trace, whatever trace it came in with.
 */
export function traceIdFor(correlationid: string): string {
  if (UUID.test(correlationid)) return correlationid.replaceAll('-', '');
  return createHash('sha256').update(correlationid).digest('hex').slice(0, 32);
}

/** The `traceparent` of message `id` in case `correlationid`: the case's trace, the message's own span. */
export function caseTraceparent(correlationid: string, id: string, flags = '01'): string {
  return `00-${traceIdFor(correlationid)}-${spanIdOf(id)}-${flags}`;
}

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The trace id of a well-formed `traceparent`, else undefined. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent !== undefined && TRACEPARENT.test(traceparent) ? traceparent.slice(3, 35) : undefined;
}

/**
 * A child `traceparent`: the parent's trace and flags, the span of the child message `id`'s
 * decision. Falls back to the case's own when the parent's is malformed.
 */
export function childTraceparent(parent: string | undefined, id: string, correlationid: string): string {
  // `test` and slices, not `exec`: no match array per message.
  if (parent === undefined || !TRACEPARENT.test(parent)) return caseTraceparent(correlationid, id);
  return `00-${parent.slice(3, 35)}-${spanIdOf(id)}-${parent.slice(53)}`;
}
