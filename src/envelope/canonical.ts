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
  if (text !== undefined && !text.includes('\\ud') && inCanonicalOrder(value)) return text;
  const canonical = canonicalizeJson(value);
  if (canonical === undefined) throw new TypeError('value has no JSON representation');
  return canonical;
}

/** Whether every object in an acyclic value has its own keys in UTF-16 code-unit order and no `toJSON`. */
function inCanonicalOrder(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) {
    for (const item of value) if (!inCanonicalOrder(item)) return false;
    return true;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  let previous: string | undefined;
  for (const key of Object.keys(value)) {
    if (previous !== undefined && previous >= key) return false;
    if (!inCanonicalOrder((value as Record<string, unknown>)[key])) return false;
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
