import { hash } from 'node:crypto';
import type { JsonValue } from '../envelope/index.js';
import type { EchoMark } from './types.js';

/** Shorter normalized strings are too common ("thank you") to identify an effect. */
export const ECHO_MIN_CHARS = 16;
/** Fingerprints kept per value: bounds the work and the size of a mark. */
export const ECHO_MAX_FINGERPRINTS = 8;
// Bounds the walk over a payload (and ends it on a cyclic object, which JSON never is).
const MAX_NODES = 4096;
const REPLY_PREFIX = /^(?:(?:re|fwd|fw)\s*:\s*)+/;
const SPACES = /\s+/g;

/** Lower-case, whitespace collapsed and trimmed, leading `re:`/`fwd:`/`fw:` stripped. */
export function normalizeEchoText(text: string): string {
  return text.toLowerCase().replace(SPACES, ' ').trim().replace(REPLY_PREFIX, '');
}

/**
 * Fingerprints of every long enough string value anywhere in `data` (depth first, in key order),
 * deduplicated, at most ECHO_MAX_FINGERPRINTS. An email the mesh sent and the ticket it becomes
 * share them even when the subject line gained a `Re:`.
 */
export function echoFingerprints(data: JsonValue): string[] {
  const out: string[] = [];
  const stack: unknown[] = [data];
  let nodes = 0;
  while (stack.length > 0 && out.length < ECHO_MAX_FINGERPRINTS && nodes++ < MAX_NODES) {
    const v = stack.pop();
    if (typeof v === 'string') {
      const text = normalizeEchoText(v);
      if (text.length < ECHO_MIN_CHARS) continue;
      const fp = hash('sha256', text, 'hex').slice(0, 16);
      if (!out.includes(fp)) out.push(fp);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) stack.push((v as Record<string, unknown>)[keys[i]!]);
    }
  }
  return out;
}

/** The newest mark within `windowMs` of `now` that shares a fingerprint, and the shared fingerprint. */
export function matchEcho(
  marks: readonly EchoMark[],
  fingerprints: readonly string[],
  now: number,
  windowMs: number,
): { readonly mark: EchoMark; readonly fingerprint: string } | undefined {
  let best: EchoMark | undefined;
  let bestFp = '';
  for (const mark of marks) {
    if (now - mark.at > windowMs || (best !== undefined && mark.at < best.at)) continue;
    for (const fp of fingerprints) {
      if (mark.fingerprints.includes(fp)) {
        best = mark;
        bestFp = fp;
        break;
      }
    }
  }
  return best === undefined ? undefined : { mark: best, fingerprint: bestFp };
}
