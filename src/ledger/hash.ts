import { canonicalize, isCanonicalText, sha256 } from '../envelope/index.js';
import type { LedgerEntry, LedgerRecord } from './types.js';

/** The `prev` of every partition's first entry. */
export const GENESIS = `sha256:${'0'.repeat(64)}`;

/**
 * The hashed body of an entry: RFC 8785 canonical JSON of
 * `{partition, seq, kind, at, msgId?, causationId?, correlationId?, subject?, agent?, data}`.
 * Built in canonical key order and stringified natively in one pass (absent members are left out,
 * as canonical JSON leaves them); only when `data` is not in canonical order, or some text escapes a
 * surrogate, is it written member by member with the generic canonicalizer (the tests check both
 * roads equal `canonicalize()` of the same object). Throws a TypeError when a field has no canonical
 * form.
 */
export function entryBody(partition: number, seq: number, r: LedgerRecord): string {
  const { data } = r;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new TypeError('data must be a JSON object');
  }
  optionalText(r.agent, 'agent');
  finite(r.at, 'at');
  optionalText(r.causationId, 'causationId');
  optionalText(r.correlationId, 'correlationId');
  if (typeof r.kind !== 'string') throw new TypeError('kind must be a string');
  optionalText(r.msgId, 'msgId');
  optionalText(r.subject, 'subject');
  // RFC 8785 sorts keys by UTF-16 code units: agent, at, causationId, correlationId, data, kind,
  // msgId, partition, seq, subject.
  const body = JSON.stringify({
    agent: r.agent,
    at: r.at,
    causationId: r.causationId,
    correlationId: r.correlationId,
    data,
    kind: r.kind,
    msgId: r.msgId,
    partition,
    seq,
    subject: r.subject,
  });
  return isCanonicalText(data, body) ? body : bodyByMembers(partition, seq, r);
}

/** The body written member by member: `data` through the generic canonicalizer, each text checked. */
function bodyByMembers(partition: number, seq: number, r: LedgerRecord): string {
  let s = '{';
  if (r.agent !== undefined) s += `"agent":${text(r.agent, 'agent')},`;
  s += `"at":${JSON.stringify(r.at)},`;
  if (r.causationId !== undefined) s += `"causationId":${text(r.causationId, 'causationId')},`;
  if (r.correlationId !== undefined) s += `"correlationId":${text(r.correlationId, 'correlationId')},`;
  s += `"data":${canonicalize(r.data)},"kind":${text(r.kind, 'kind')},`;
  if (r.msgId !== undefined) s += `"msgId":${text(r.msgId, 'msgId')},`;
  s += `"partition":${partition},"seq":${seq}`;
  if (r.subject !== undefined) s += `,"subject":${text(r.subject, 'subject')}`;
  return `${s}}`;
}

/**
 * An entry read back: its stored body (every record field, partition and seq) plus its chain hashes.
 * The parsed body is the entry, not copied (a recovery reads millions); a body that is not an object
 * (only a tampered one) is read into one.
 */
export function entryOfBody(body: string, prev: string, hash: string): LedgerEntry {
  const parsed: unknown = JSON.parse(body);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return { ...(parsed as object), prev, hash } as LedgerEntry;
  const entry = parsed as Record<string, unknown>;
  entry.prev = prev;
  entry.hash = hash;
  return entry as LedgerEntry;
}

/** Leaf hash of a body: domain-separated from chain links by the 0x00 prefix (as in RFC 6962). */
export function leafHash(body: string): string {
  return sha256(`\u0000${body}`);
}

/** Chain link: `H(0x01 ‖ prev ‖ leaf)`, over the UTF-8 text of both `sha256:<hex>` strings. */
export function chainHash(prev: string, leaf: string): string {
  return sha256(`\u0001${prev}${leaf}`);
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new TypeError(`${field} must be a string`);
  if (!value.isWellFormed()) throw new TypeError(`${field} holds a lone surrogate`);
  return JSON.stringify(value);
}

function optionalText(value: unknown, field: string): void {
  if (value !== undefined && typeof value !== 'string') throw new TypeError(`${field} must be a string`);
}

function finite(value: unknown, field: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new TypeError(`${field} must be a finite number`);
}
