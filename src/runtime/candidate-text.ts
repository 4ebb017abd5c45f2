import { inspect } from 'node:util';
import { canonicalize, hasNonFinite, nonFiniteAt, nonFiniteText } from '../envelope/index.js';
import { evidenceOf, type RawEvidence } from './evidence.js';
import type { ClaimedHead } from './records.js';

// What the runtime records about a candidate's text: its JSON for the size guard, and a readable
// rendering for the ledger's `raw` when it has no JSON form at all.

/**
 * JSON.stringify is native and fast; it throws on cycles and BigInt. It escapes lone surrogates as
 * `\\udXXX`, which RFC 8785 refuses, so only text with such an escape pays for a canonical pass.
 * It writes Infinity and NaN as `null` (the ledger's canonical form refuses them), so only text
 * holding a `null` pays for a walk to find one.
 */
export function jsonText(value: unknown): string | { readonly cause: unknown } {
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return { cause: new TypeError('the value is not JSON') };
    if (text.includes('\\ud')) canonicalize(value);
    if (text.includes('null') && hasNonFinite(value)) {
      const found = nonFiniteAt(value);
      if (found !== undefined) return { cause: new TypeError(nonFiniteText(found)) };
    }
    return text;
  } catch (cause) {
    return { cause };
  }
}

/** A readable, well-formed rendering of a value that has no JSON form, for the ledger's `raw`. */
export function describeValue(value: unknown): string {
  return truncate(inspect(value, { depth: 4, breakLength: Number.POSITIVE_INFINITY }).toWellFormed());
}

export function truncate(text: string): string {
  return text.length > 4096 ? `${text.slice(0, 4096)}…` : text;
}

/** A decision's evidence fields for refused input: a bounded prefix, the size and SHA-256 of the whole. */
export function rawFields(raw: string | Uint8Array | RawEvidence): {
  raw: string;
  rawBytes: number;
  rawDigest: string;
} {
  const e = evidenceOf(raw);
  return { raw: e.prefix, rawBytes: e.bytes, rawDigest: e.sha256 };
}

/** At most `max` characters of a caller's sentence or location, well-formed. */
export function boundText(text: string, max = 1024): string {
  return (text.length > max ? `${text.slice(0, max)}…` : text).toWellFormed();
}

/** What a candidate too malformed for an envelope says it answers, for listeners following that message. */
export function claimedCause(candidate: unknown): string | undefined {
  const cause = (candidate as { causationid?: unknown } | null | undefined)?.causationid;
  return typeof cause === 'string' && cause.length <= 1024 ? cause : undefined;
}

/** What a candidate recorded without its envelope says it is (its type and hop), when it says so plainly. */
export function claimedHead(candidate: unknown): ClaimedHead | undefined {
  const { type, hop } = (candidate ?? {}) as { type?: unknown; hop?: unknown };
  if (typeof type !== 'string' || type.length > 256 || !Number.isSafeInteger(hop)) return undefined;
  return { hop: hop as number, type: type.toWellFormed() };
}
