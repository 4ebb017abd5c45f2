import { hash } from 'node:crypto';
import type { JsonValue } from '../envelope/index.js';
import type { EchoMark } from './types.js';

/**
 * Shorter normalized strings are too common ("thank you") to identify an effect: the default of
 * `guards.loop.echoMinLength`, which may not go below ECHO_MIN_CHARS_FLOOR.
 */
export const ECHO_MIN_CHARS = 16;
export const ECHO_MIN_CHARS_FLOOR = 4;
/** A reply token is 6 to 200 characters without white space (a commit id, a ticket number, a UUID). */
export const REPLY_TOKEN_MIN = 6;
export const REPLY_TOKEN_MAX = 200;
/** No white space and no control characters: a token is one word a webhook can carry back. */
const NO_SPACE = /^[^\s\p{Cc}]+$/u;
// A reply token is found as a whole word: not preceded or followed by a letter or digit.
const WORD_CHAR = /[\p{L}\p{N}]/u;
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
 * Fingerprints of every string value anywhere in `data` (depth first, in key order; object keys,
 * numbers and booleans are not looked at) whose normalized text is at least `minChars` long,
 * deduplicated, at most ECHO_MAX_FINGERPRINTS. An email the mesh sent and the ticket it becomes
 * share them even when the subject line gained a `Re:`.
 */
export function echoFingerprints(data: JsonValue, minChars: number = ECHO_MIN_CHARS): string[] {
  const out: string[] = [];
  const stack: unknown[] = [data];
  let nodes = 0;
  while (stack.length > 0 && out.length < ECHO_MAX_FINGERPRINTS && nodes++ < MAX_NODES) {
    const v = stack.pop();
    if (typeof v === 'string') {
      const text = normalizeEchoText(v);
      if (text.length < minChars) continue;
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

/** Whether an executor's reply token has the accepted shape (see REPLY_TOKEN_MIN and REPLY_TOKEN_MAX). */
export function isReplyToken(token: unknown): token is string {
  return (
    typeof token === 'string' &&
    token.length >= REPLY_TOKEN_MIN &&
    token.length <= REPLY_TOKEN_MAX &&
    NO_SPACE.test(token) &&
    // A lone surrogate has no canonical JSON form: its record would never reach the ledger.
    token.isWellFormed()
  );
}

/** The mark of effect `effectId` when it is within `windowMs` of `now`: a `causationid` claim checks out. */
export function findEffectMark(
  marks: readonly EchoMark[],
  effectId: string,
  now: number,
  windowMs: number,
): EchoMark | undefined {
  // Any mark of that effect within the window (each admission leaves one; there is normally one).
  for (const mark of marks) {
    if (mark.effectId === effectId && now - mark.at <= windowMs) return mark;
  }
  return undefined;
}

/**
 * The newest mark within `windowMs` of `now` whose reply token appears in `data`: as a whole string
 * value, or as a whole word inside one (case-sensitive, not next to a letter or digit).
 */
export function matchReplyToken(
  marks: readonly EchoMark[],
  data: JsonValue,
  now: number,
  windowMs: number,
): EchoMark | undefined {
  let strings: string[] | undefined;
  let best: EchoMark | undefined;
  for (const mark of marks) {
    const token = mark.replyToken;
    if (token === undefined || now - mark.at > windowMs || (best !== undefined && mark.at < best.at))
      continue;
    strings ??= stringsOf(data);
    if (strings.some((s) => containsWord(s, token))) best = mark;
  }
  return best;
}

function stringsOf(data: JsonValue): string[] {
  const out: string[] = [];
  const stack: unknown[] = [data];
  let nodes = 0;
  while (stack.length > 0 && nodes++ < MAX_NODES) {
    const v = stack.pop();
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) stack.push(x);
  }
  return out;
}

function containsWord(text: string, token: string): boolean {
  for (let i = text.indexOf(token); i >= 0; i = text.indexOf(token, i + 1)) {
    const before = i === 0 ? '' : text[i - 1]!;
    const after = text[i + token.length] ?? '';
    if (!WORD_CHAR.test(before) && !WORD_CHAR.test(after)) return true;
  }
  return false;
}
