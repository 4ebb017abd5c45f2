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
 * `text` with the credential's secret replaced in every form a remote may echo it: as written, as
 * JSON escapes it once and twice (headers quoted inside a JSON string), and URL-encoded once and
 * twice (a query, a URL quoted in another's query) with its hex digits in either case. It must not
 * reach the ledger, which keeps what it is given for good, nor the logs. For an answer that is JSON,
 * use withoutSecretInJson: JSON may escape any character (`\/`, `\u0026`).
 */
export function withoutSecret(text: string, credential: Credential | undefined): string {
  if (credential === undefined) return text;
  const { secret } = credential;
  const escaped = JSON.stringify(secret).slice(1, -1);
  let out = text;
  // Longest first, so a form that contains another is replaced whole.
  for (const form of [...new Set([secret, escaped, JSON.stringify(escaped).slice(1, -1)])].sort(
    (a, b) => b.length - a.length,
  ))
    out = out.replaceAll(form, redactedOf(credential));
  const encoded = encodeURIComponent(secret);
  // Encoded twice: a URL quoted inside another URL's query. Only a secret that encoding changes.
  if (encoded === secret) return out;
  return out.replace(encodedPattern(encodeURIComponent(encoded), encoded), redactedOf(credential));
}

/** The encoded forms, longest first, as a pattern whose `%XX` hex digits match in either case. */
function encodedPattern(...forms: readonly string[]): RegExp {
  const literal = (form: string) =>
    form
      .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      .replace(
        /%([0-9A-F])([0-9A-F])/g,
        (_, a: string, b: string) => `%[${a}${a.toLowerCase()}][${b}${b.toLowerCase()}]`,
      );
  return new RegExp(forms.map(literal).join('|'), 'g');
}

/**
 * An answer's text without the secret, read as JSON when it is: a string that holds the secret only
 * once its escapes are undone (PHP writes `/` as `\/`, Go `&` as `\u0026`) is replaced, and the JSON
 * written again (a number past a double's range or precision is then written as JSON.parse read it).
 * Only text with an escape left after withoutSecret is parsed for it.
 */
export function withoutSecretInJson(text: string, credential: Credential | undefined): string {
  const plain = withoutSecret(text, credential);
  if (credential === undefined || !plain.includes('\\')) return plain;
  let parsed: unknown;
  try {
    parsed = JSON.parse(plain);
  } catch {
    return plain; // not JSON: its text forms are redacted already
  }
  // Most answers hold escapes (a \n in a text): a walk that allocates nothing tells whether any
  // string holds the secret (about 12 ms for 1.5 MB parsed), before anything is built again.
  if (!holdsSecret(parsed, credential.secret)) return plain;
  const redact = (value: unknown): unknown => {
    if (typeof value === 'string') return withoutSecret(value, credential);
    if (Array.isArray(value)) return value.map(redact);
    if (value !== null && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redact(v)]));
    return value;
  };
  try {
    return JSON.stringify(redact(parsed));
  } catch {
    // Nested past what the walk or JSON.stringify can take: nothing of it is kept, to be safe.
    return JSON.stringify(redactedOf(credential));
  }
}

/** Whether a parsed JSON value holds `secret` in any string or member name (iterative: any depth). */
function holdsSecret(value: unknown, secret: string): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (item.includes(secret)) return true;
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        if (key.includes(secret)) return true;
        stack.push(child);
      }
    }
  }
  return false;
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
  const secret = credential.secret.toLowerCase();
  // A URL parser turns \ into /: compared that way too.
  const secrets = [secret, secret.replaceAll('\\', '/')];
  return [...forms, ...utf8].some((form) => {
    const folded = form.toLowerCase();
    return secrets.some((s) => folded.includes(s) || folded.replaceAll('+', ' ').includes(s));
  });
}

function redactedOf(credential: Credential): string {
  return `[redacted: ${credential.env}]`;
}
