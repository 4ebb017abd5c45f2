import { createHash } from 'node:crypto';

/**
 * The span id a message's own `traceparent` names: the span of its gate decision (telemetry/ exports
 * it under this id). Made of the message id, not of chance, so whoever reads a decision later (a
 * child's, through its `causationid`) names its parent's span without looking the parent up: the
 * last 16 hex digits of a UUID (the random tail of a UUIDv7, its variant bits keep it non-zero), or
 * the first 16 of SHA-256 of any other id.
 */
export function spanIdOf(id: string): string {
  if (hasUuidShape(id)) return id.slice(19, 23) + id.slice(24);
  return createHash('sha256').update(id).digest('hex').slice(0, 16);
}

/**
 * Whether `spanIdOf(id)` is the id's own hex digits 19–22 and 24–35 (a UUID), so a writer may take
 * them from the id where they are, without the string `spanIdOf` makes.
 */
export function spanIdIsTailOf(id: string): boolean {
  return hasUuidShape(id);
}

/**
 * `/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/` (any version: id.ts's
 * `isUuid` asks for 1 to 8), checked by hand: telemetry asks it of two ids a decision, and the loop
 * takes about two thirds of the regular expression's time.
 */
function hasUuidShape(s: string): boolean {
  if (s.length !== 36) return false;
  if (s.charCodeAt(8) !== DASH || s.charCodeAt(13) !== DASH || s.charCodeAt(18) !== DASH) return false;
  if (s.charCodeAt(23) !== DASH) return false;
  const variant = s.charCodeAt(19);
  if (variant !== 0x38 && variant !== 0x39 && variant !== 0x61 && variant !== 0x62) return false;
  return hexRun(s, 0, 8) && hexRun(s, 9, 13) && hexRun(s, 14, 18) && hexRun(s, 20, 23) && hexRun(s, 24, 36);
}

/** Whether `s[from, to)` is lowercase hex digits. */
function hexRun(s: string, from: number, to: number): boolean {
  let ok = 1;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    ok &= c < 128 ? LOWER_HEX[c]! : 0;
  }
  return ok === 1;
}

const DASH = 0x2d;
/** 1 at the char codes of 0-9 and a-f. */
const LOWER_HEX = new Uint8Array(128);
for (const c of '0123456789abcdef') LOWER_HEX[c.charCodeAt(0)] = 1;

/**
 * The trace id of a case: made of its root message's id (its `correlationid`), as the span id is of
 * a message's (the UUID's 32 hex digits, or the first 32 of SHA-256 of any other id). A message
 * the gate links into an earlier case (an echo) then joins that case's trace, whatever trace it came in with.
 */
export function traceIdFor(correlationid: string): string {
  if (hasUuidShape(correlationid)) return correlationid.replaceAll('-', '');
  return createHash('sha256').update(correlationid).digest('hex').slice(0, 32);
}

/** The `traceparent` of message `id` in case `correlationid`: the case's trace, the message's own span. */
export function caseTraceparent(correlationid: string, id: string, flags = '01'): string {
  return `00-${traceIdFor(correlationid)}-${spanIdOf(id)}-${flags}`;
}

/** `/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/`, checked by hand as `hasUuidShape` is. */
function isTraceparent(s: string): boolean {
  if (s.length !== 55 || s.charCodeAt(0) !== 0x30 || s.charCodeAt(1) !== 0x30) return false;
  if (s.charCodeAt(2) !== DASH || s.charCodeAt(35) !== DASH || s.charCodeAt(52) !== DASH) return false;
  return hexRun(s, 3, 35) && hexRun(s, 36, 52) && hexRun(s, 53, 55);
}

/** The trace id of a well-formed `traceparent`, else undefined. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent !== undefined && isTraceparent(traceparent) ? traceparent.slice(3, 35) : undefined;
}

/**
 * A child `traceparent`: the parent's trace and flags, the span of the child message `id`'s
 * decision. Falls back to the case's own when the parent's is malformed.
 */
export function childTraceparent(parent: string | undefined, id: string, correlationid: string): string {
  // A check and slices: no match array per message.
  if (parent === undefined || !isTraceparent(parent)) return caseTraceparent(correlationid, id);
  return `00-${parent.slice(3, 35)}-${spanIdOf(id)}-${parent.slice(53)}`;
}
