import { hash } from 'node:crypto';
import canonicalizeJson from 'canonicalize';

/** RFC 8785 (JCS) canonical JSON text of a value. */
export function canonicalize(value: unknown): string {
  const text = canonicalizeJson(value);
  if (text === undefined) throw new TypeError('value has no JSON representation');
  return text;
}

/** `sha256:<hex>` over a string or bytes. One-shot `crypto.hash` is faster than createHash for small inputs. */
export function sha256(input: string | Uint8Array): string {
  return `sha256:${hash('sha256', input, 'hex')}`;
}

/** `sha256:<hex>` of the RFC 8785 canonical JSON of a value. */
export function digestOf(value: unknown): string {
  return sha256(canonicalize(value));
}
