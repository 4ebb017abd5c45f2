import type { FastifyBodyParser, FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { duplicateKeyAt, escapePointer, firstInvalidUtf8, type MeshwardenError } from '../runtime/index.js';
import { apiError } from './errors.js';

/**
 * How deep a JSON body may nest: 128 levels (brackets open at once). Deeper bodies get 400
 * `MW_API_TOO_DEEP` before anything walks them; the gate's own limit on a message is 64 levels
 * (envelope/depth.ts), so a message nested between the two is let in to be quarantined with its
 * sender and subject, and only bodies no message could be are turned away at the door.
 */
export const MAX_BODY_DEPTH = 128;

/**
 * The first place (depth first) a parsed JSON value is too deep, holds a lone surrogate, or holds a
 * number JSON cannot hold (`not_json`: JSON.parse gives Infinity for `1e400`, which the ledger would
 * record as null while agents got Infinity).
 */
export type JsonProblem = {
  readonly pointer: string;
  readonly problem: 'too_deep' | 'broken_text' | 'not_json' | 'duplicate_key';
};

/**
 * A member name given twice in one object of the text: JSON.parse kept the last value and dropped
 * the first without a word, so what a checker before us read is not what we would.
 */
function duplicateProblemAt(text: string): JsonProblem | undefined {
  const pointer = duplicateKeyAt(text);
  return pointer === undefined ? undefined : { pointer, problem: 'duplicate_key' };
}

/**
 * Walks a parsed JSON value without recursion, so no input can run it out of stack, and stops at the
 * first container nested deeper than `maxDepth` (the value is level 1), the first string or member
 * name that is not well-formed UTF-16 (a lone surrogate, which no ledger entry can hold), or the
 * first number out of JSON's range.
 */
export function jsonProblemAt(value: unknown, maxDepth: number = MAX_BODY_DEPTH): JsonProblem | undefined {
  if (typeof value === 'string')
    return value.isWellFormed() ? undefined : { pointer: '', problem: 'broken_text' };
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : { pointer: '', problem: 'not_json' };
  if (value === null || typeof value !== 'object') return undefined;
  type Frame = { node: object; keys: readonly string[] | undefined; next: number; at: string; depth: number };
  const open = (node: object, at: string, depth: number): Frame => ({
    node,
    keys: Array.isArray(node) ? undefined : Object.keys(node),
    next: 0,
    at,
    depth,
  });
  if (maxDepth < 1) return { pointer: '', problem: 'too_deep' };
  const stack: Frame[] = [open(value, '', 1)];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const size = top.keys === undefined ? (top.node as unknown[]).length : top.keys.length;
    if (top.next >= size) {
      stack.pop();
      continue;
    }
    const key = top.keys === undefined ? String(top.next) : top.keys[top.next]!;
    top.next++;
    const at = `${top.at}/${escapePointer(key)}`;
    if (!key.isWellFormed()) return { pointer: at, problem: 'broken_text' };
    const member = (top.node as Record<string, unknown>)[key];
    if (typeof member === 'string') {
      if (!member.isWellFormed()) return { pointer: at, problem: 'broken_text' };
    } else if (typeof member === 'number') {
      if (!Number.isFinite(member)) return { pointer: at, problem: 'not_json' };
    } else if (member !== null && typeof member === 'object') {
      if (top.depth >= maxDepth) return { pointer: at, problem: 'too_deep' };
      stack.push(open(member, at, top.depth + 1));
    }
  }
  return undefined;
}

/** The typed error for a problem in `where` (body, params, querystring). */
export function problemError(where: string, found: JsonProblem): MeshwardenError {
  const { pointer } = found;
  if (found.problem === 'too_deep')
    return apiError(
      'MW_API_TOO_DEEP',
      { where, max: MAX_BODY_DEPTH, at: pointer || '/' },
      { location: { pointer } },
    );
  const detail =
    found.problem === 'broken_text'
      ? `the ${where} holds broken Unicode (a lone surrogate) at ${pointer || '/'}`
      : found.problem === 'duplicate_key'
        ? `the ${where} gives the member ${pointer} twice: JSON keeps the last value and drops the first, so it is refused`
        : `the ${where} holds a number out of JSON's range (such as 1e400) at ${pointer || '/'}`;
  return apiError('MW_API_BAD_REQUEST', { detail }, { location: { pointer } });
}

/** What arrived of a body the parser refused (its text, or its bytes when they are not UTF-8), and why. */
export type RefusedBody = { readonly text: string | Uint8Array; readonly reason: string };
const refusedBodies = new WeakMap<FastifyRequest, RefusedBody>();

export function refusedBodyOf(request: FastifyRequest): RefusedBody | undefined {
  return refusedBodies.get(request);
}

/**
 * A parsed body a route refuses for what it says (an ingress it names that the mesh has not): told
 * here before the route throws, so that its refusal is recorded like the parser's.
 */
export function refuseParsedBody(request: FastifyRequest, reason: string): void {
  refusedBodies.set(request, { text: JSON.stringify(request.body) ?? '', reason });
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Fastify's own JSON parser (prototype poisoning refused), then the walk above: a body that is not
 * UTF-8 (decoding would put U+FFFD in place of its bytes and admit what nobody sent), too deep or
 * with broken Unicode is refused here, where what arrived is still at hand for the ledger's record.
 */
export function jsonBodyParser(app: FastifyInstance): FastifyBodyParser<Buffer> {
  const parse = app.getDefaultJsonParser('error', 'error');
  return (request, bytes, done) => {
    const coding = codingProblem(request, 'application/json');
    if (coding !== undefined) {
      refusedBodies.set(request, { text: bytes, reason: 'ingress.body_media_type' });
      return done(coding as unknown as FastifyError, undefined);
    }
    const text = utf8Text(bytes);
    if (typeof text !== 'string') {
      refusedBodies.set(request, { text: bytes, reason: 'ingress.body_not_utf8' });
      return done(text as unknown as FastifyError, undefined);
    }
    parse(request, text, (err, value) => {
      if (err !== null) {
        refusedBodies.set(request, { text, reason: 'ingress.body_not_json' });
        return done(err as FastifyError, undefined);
      }
      const found = jsonProblemAt(value) ?? duplicateProblemAt(text);
      if (found === undefined) return done(null, value);
      refusedBodies.set(request, { text, reason: `ingress.body_${found.problem}` });
      done(problemError('body', found) as unknown as FastifyError, undefined);
    });
  };
}

/**
 * A body sent in a coding or a character set this API does not read: 415 `MW_API_MEDIA_TYPE`, where
 * a gzipped body was refused as "not UTF-8" and a `charset=latin1` one was read as UTF-8 anyway.
 * Bodies are taken as sent (no `Content-Encoding` but `identity`) and in UTF-8 (no charset, or
 * `utf-8`).
 */
export function codingProblem(request: FastifyRequest, accepted: string): MeshwardenError | undefined {
  const coding = request.headers['content-encoding']?.trim().toLowerCase();
  const type = request.headers['content-type'] ?? '';
  if (coding !== undefined && coding !== '' && coding !== 'identity')
    return apiError('MW_API_MEDIA_TYPE', {
      accepted: `${accepted}, not encoded`,
      type: `${type} in ${coding}`,
    });
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(type)?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
    return apiError('MW_API_MEDIA_TYPE', { accepted: `${accepted} in UTF-8`, type });
  return undefined;
}

/** The body as UTF-8 text, or 400 `MW_API_BAD_REQUEST` naming its first byte that starts no character. */
export function utf8Text(bytes: Buffer): string | MeshwardenError {
  try {
    return utf8.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    return apiError('MW_API_BAD_REQUEST', {
      detail: `the body is not UTF-8: byte ${at} (0x${(bytes[at] ?? 0).toString(16).padStart(2, '0')}) starts no valid character`,
    });
  }
}
