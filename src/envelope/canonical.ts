import { hash } from 'node:crypto';
import canonicalizeJson from 'canonicalize';

/**
 * RFC 8785 (JCS) canonical JSON text of a value.
 *
 * JCS is `JSON.stringify` with keys sorted by UTF-16 code units and lone surrogates refused: its
 * numbers and string escapes are ECMAScript's. So when every object already has its keys in that
 * order and the text escapes no surrogate, native `JSON.stringify` is the canonical text, about 4×
 * faster than the `canonicalize` package, which builds the text one member at a time. The runtime
 * creates its records in canonical key order so the hot path takes the fast road; anything else
 * (unsorted keys, `toJSON`, a `\ud` escape) goes through the package.
 */
export function canonicalize(value: unknown): string {
  const text = JSON.stringify(value);
  if (text !== undefined && isCanonicalText(value, text)) return text;
  const canonical = canonicalizeJson(value);
  if (canonical === undefined) throw new TypeError('value has no JSON representation');
  return canonical;
}

/**
 * Whether `text`, the native `JSON.stringify` of `value`, is its canonical form: no `\ud` escape
 * and every object's keys in canonical order. For callers that stringify a value they built in
 * canonical order around one they did not (the ledger's entry body around its `data`).
 */
export function isCanonicalText(value: unknown, text: string): boolean {
  return !text.includes('\\ud') && inCanonicalOrder(value);
}

/**
 * Whether every object in an acyclic value has its own keys in UTF-16 code-unit order and no `toJSON`.
 * `for…in` walks own enumerable keys in `Object.keys` order, then inherited ones, without allocating
 * an array per object: when the whole walk is in order, so are the own keys (an inherited key out of
 * order only sends the value down the slower, always correct road).
 */
function inCanonicalOrder(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!inCanonicalOrder(value[i])) return false;
    return true;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  let previous: string | undefined;
  for (const key in value) {
    if (previous !== undefined && previous >= key) return false;
    const member = (value as Record<string, unknown>)[key];
    if (member !== null && typeof member === 'object' && !inCanonicalOrder(member)) return false;
    previous = key;
  }
  return true;
}

/** `sha256:<hex>` over a string or bytes. One-shot `crypto.hash` is faster than createHash for small inputs. */
export function sha256(input: string | Uint8Array): string {
  return `sha256:${hash('sha256', input, 'hex')}`;
}

/** `sha256:<hex>` of the RFC 8785 canonical JSON of a value. */
export function digestOf(value: unknown): string {
  return sha256(canonicalize(value));
}
