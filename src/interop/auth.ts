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
 * JSON escapes it once and twice (headers quoted inside a JSON string), and URL-encoded (a query). It
 * must not reach the ledger, which keeps what it is given for good, nor the logs.
 */
export function withoutSecret(text: string, credential: Credential | undefined): string {
  if (credential === undefined) return text;
  const { secret } = credential;
  const escaped = JSON.stringify(secret).slice(1, -1);
  const forms = [secret, escaped, JSON.stringify(escaped).slice(1, -1), encodeURIComponent(secret)];
  let out = text;
  // Longest first, so a form that contains another is replaced whole.
  for (const form of [...new Set(forms)].sort((a, b) => b.length - a.length))
    out = out.replaceAll(form, `[redacted: ${credential.env}]`);
  return out;
}
