import type { MeshwardenError, RemoteAuth } from '../runtime/index.js';
import { interopError } from './errors.js';

/** What an HTTP header value may hold (RFC 9110 field-value: visible Latin-1, spaces and tabs). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]+$/;

/** A credential as it is sent: the header, and the secret read from the environment. */
export type Credential = {
  readonly header: string;
  readonly value: string;
  readonly env: string;
  readonly secret: string;
};

/**
 * Reads a remote part's credential from the environment when it connects (the policy names only the
 * variable). Missing or empty is a typed error, so the mesh does not start calling without it.
 */
export function credentialOf(
  auth: RemoteAuth | undefined,
  who: string,
  env: NodeJS.ProcessEnv = process.env,
): Credential | undefined | MeshwardenError {
  if (auth === undefined) return undefined;
  const secret = env[auth.env] ?? '';
  if (secret === '')
    return interopError('MW_INTEROP_AUTH_ENV', {
      who,
      env: auth.env,
      problem: 'is not set or empty; set it where the warden runs',
    });
  // Checked here, so that fetch never refuses the header with the secret in its error text.
  if (!HEADER_VALUE.test(secret))
    return interopError('MW_INTEROP_AUTH_ENV', {
      who,
      env: auth.env,
      problem: 'holds characters a header cannot carry (a line break, a control or non-Latin-1 character)',
    });
  const value = auth.scheme === undefined ? secret : `${auth.scheme} ${secret}`;
  return { header: auth.header, value, env: auth.env, secret };
}

/** The headers to send with every request for a credential (none without one). */
export function headersOf(credential: Credential | undefined): Record<string, string> {
  return credential === undefined ? {} : { [credential.header]: credential.value };
}

/**
 * `text` with the credential's secret replaced in every spelling a remote may echo it (secretPattern):
 * as written, in any case, JSON-escaped at any depth (`\"`, `\\\"`, `\/`, `\u002B`), URL-encoded
 * once or more (hex in either case, `+` for a space), and any mix of those, character by character.
 * It must not reach the ledger, which keeps what it is given for good, nor the logs.
 */
export function withoutSecret(text: string, credential: Credential | undefined): string {
  if (credential === undefined) return text;
  return text.replace(secretPattern(credential.secret), redactedOf(credential));
}

const PATTERNS = new Map<string, RegExp>();

/** The secret in any of its spellings, as one pattern (made once per secret). */
function secretPattern(secret: string): RegExp {
  let pattern = PATTERNS.get(secret);
  if (pattern === undefined) {
    pattern = new RegExp(secretSource(secret), 'gi');
    if (PATTERNS.size > 64) PATTERNS.clear(); // a few credentials per mesh; bounded all the same
    PATTERNS.set(secret, pattern);
  }
  pattern.lastIndex = 0;
  return pattern;
}

/**
 * The source of secretPattern: each character of the secret in the ways it may be written (as
 * itself, `\uXXXX` at any depth, percent-encoded up to 4 times, `\"`, `\/` and `\\` at any depth).
 * A run of backslashes is taken whole, bounded, and never given back (a lookahead and its
 * backreference): a run the pattern could split would let an answer of backslashes cost time
 * exponential in the secret's escapable characters and quadratic in its length.
 */
function secretSource(secret: string): string {
  let groups = 0;
  const run = (min: number, max: number) => {
    groups++;
    return `(?=(\\\\{${min},${max}}))\\${groups}`;
  };
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  const parts: string[] = [];
  const chars = [...secret];
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    // A JSON escape at any depth: \u0041, \\u0041, … (any case, which the pattern's flag allows).
    const units = Array.from({ length: char.length }, (_, k) => char.charCodeAt(k));
    const escaped = units.map((u) => `${run(1, 8)}u${hex(u, 4)}`).join('');
    const ways = [escaped];
    if (char === '\\') {
      // Backslashes in a row are one run, of any count: escaping doubles them.
      while (chars[i + 1] === '\\') i++;
      ways.push(run(1, 64));
    } else if (char === '"' || char === '/') ways.push(`${run(0, 8)}\\${char}`);
    else ways.push(char.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'));
    const code = char.codePointAt(0)!;
    if (code < 0x80) ways.push(`%(?:25){0,3}${hex(code, 2)}`);
    if (char === ' ') ways.push('\\+');
    parts.push(`(?:${ways.join('|')})`);
  }
  return parts.join('');
}

/**
 * Whether a URL holds the secret once its escapes are undone and its case folded (a host is written
 * in lower case, `%2b` and `%2B` are one byte, a `+` may be left unescaped or not, a URL may be
 * encoded twice, and one malformed `%` must not keep the rest from being read).
 */
export function urlHoldsSecret(url: string, credential: Credential | undefined): boolean {
  if (credential === undefined) return false;
  const forms = [url];
  for (let i = 0; i < 3; i++) {
    const decoded = forms
      .at(-1)!
      .replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    if (decoded === forms.at(-1)) break;
    forms.push(decoded);
  }
  // Bytes decoded one by one: a multi-byte character is compared as UTF-8 text too.
  const utf8 = forms.map((form) => Buffer.from(form, 'latin1').toString('utf8'));
  // A URL parser turns \ into /: compared that way too.
  const secrets = [credential.secret, credential.secret.replaceAll('\\', '/')];
  return [...forms, ...utf8].some((form) => secrets.some((secret) => holds(form, secret)));
}

/** Whether `text` holds `secret` in any of its spellings (secretPattern). */
function holds(text: string, secret: string): boolean {
  const pattern = secretPattern(secret);
  const found = pattern.test(text);
  pattern.lastIndex = 0;
  return found;
}

function redactedOf(credential: Credential): string {
  return `[redacted: ${credential.env}]`;
}
