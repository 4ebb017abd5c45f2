import { closest, type MeshwardenError } from '../envelope/index.js';
import { causeText, credentialsOf, ledgerError, redacted } from './errors.js';

// Where a PostgreSQL ledger lives, read from its URL (docs/ledger.md, "Location"): what goes to
// node-postgres, what is ours, and what is refused because the driver would drop it without a word.

/** The schema a PostgreSQL ledger's tables live in when neither the URL nor the caller names one. */
export const DEFAULT_SCHEMA = 'meshwarden';

// Lower-case identifiers only: they need no quoting rules beyond the double quotes added here.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Where a PostgreSQL ledger lives: the connection string pg reads, its schema, and a safe label. */
export type PostgresLocation = {
  /** The URL without the parameters that are ours (`schema`, `lanes`) or set apart below. */
  readonly connectionString: string;
  readonly schema: string;
  /** The URL with its password masked: what error sentences name. */
  readonly label: string;
  /** A driver's error text with the password masked, should it ever quote it. */
  readonly scrub: (text: string) => string;
  /** The URL's `lanes` (commit loops side by side, postgres-lanes.ts), when it gives one. */
  readonly lanes?: number;
  /** The URL's `options` (server settings, `-c name=value …`): `createPool` puts its own after them. */
  readonly options?: string;
  /** The URL's `application_name`, for the ledger's pool: the writer lock's session keeps its own. */
  readonly applicationName?: string;
};

/** Commit lanes a ledger may have: more than the server has cores would only queue on them. */
export const MAX_LANES = 64;

/** Whether `n` is a count of commit lanes a ledger may have (the URL's `lanes`, or the option). */
export const isLaneCount = (n: number) => Number.isInteger(n) && n >= 1 && n <= MAX_LANES;

const OURS = ['schema', 'lanes'];
/** What node-postgres reads from a `postgres://` URL and a ledger leaves to it. */
const DRIVER = [
  'host',
  'port',
  'user',
  'password',
  'ssl',
  'sslmode',
  'sslcert',
  'sslkey',
  'sslrootcert',
  'sslnegotiation',
  'uselibpqcompat',
  'application_name',
  'fallback_application_name',
  'client_encoding',
  'options',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
];
/** What node-postgres reads too, but the ledger sets itself: a URL's would replace it. */
const LEDGER_SETS: Readonly<Record<string, string>> = {
  statement_timeout: 'the ledger sets it (60 s), so that a stuck statement fails',
  query_timeout: 'the ledger sets it (65 s), so that a server that never answers fails',
  replication: 'a ledger needs an ordinary session, not a replication one',
  binary: 'the ledger reads rows as text',
};

/**
 * Reads `postgres://…/db?schema=name`; `schema` (the option) wins over the URL's. A parameter that
 * is neither ours nor one node-postgres reads is refused, since the driver would ignore it (a
 * misspelt `schema` would put the ledger in the default schema), and so is one the ledger sets.
 */
export function parsePostgresLocation(location: string, schema?: string): PostgresLocation | MeshwardenError {
  const label = redacted(location);
  let url: URL;
  try {
    url = new URL(location);
  } catch (err) {
    return ledgerError('MW_LEDGER_LOCATION', { location: label, reason: causeText(err) });
  }
  const refused = refusedParameter(url.searchParams);
  if (refused !== undefined) {
    const { parameter, reason, near } = refused;
    return ledgerError(
      'MW_LEDGER_LOCATION',
      { location: masked(label, parameter), reason },
      { details: { parameter, ...(near === undefined ? {} : { near }) } },
    );
  }
  const named = schema ?? url.searchParams.get('schema') ?? DEFAULT_SCHEMA;
  if (!SCHEMA_NAME.test(named)) {
    const reason = `the schema name ${JSON.stringify(named)} must be lower-case letters, digits and _ (at most 63)`;
    return ledgerError('MW_LEDGER_LOCATION', { location: label, reason });
  }
  // PostgreSQL's own schemas: pg_catalog, pg_toast, pg_temp_N… (the pg_ prefix is reserved for
  // system schemas; CREATE SCHEMA refuses it) and information_schema.
  if (named.startsWith('pg_') || named === 'information_schema') {
    const reason = `${named} is a PostgreSQL system schema name (pg_… and information_schema are reserved); name another schema`;
    return ledgerError('MW_LEDGER_LOCATION', { location: label, reason });
  }
  const lanesText = url.searchParams.get('lanes');
  const lanes = lanesText === null ? undefined : Number(lanesText);
  if (lanes !== undefined && !(/^\d+$/.test(lanesText!) && isLaneCount(lanes))) {
    const reason = `lanes=${JSON.stringify(lanesText)} must be a whole number from 1 to ${MAX_LANES}`;
    return ledgerError('MW_LEDGER_LOCATION', { location: label, reason });
  }
  // Set apart: node-postgres lets a URL's parameter replace the same setting given in code, so the
  // pool's synchronous_commit (in options) and the writer lock's application_name would be lost.
  const options = url.searchParams.get('options') || undefined;
  const applicationName = url.searchParams.get('application_name') ?? undefined;
  for (const name of ['schema', 'lanes', 'options', 'application_name']) url.searchParams.delete(name);
  const secrets = credentialsOf(location);
  const scrub = (text: string) => secrets.reduce((t, secret) => t.replaceAll(secret, '***'), text);
  return {
    connectionString: url.href,
    schema: named,
    label,
    scrub,
    ...(lanes === undefined ? {} : { lanes }),
    ...(options === undefined ? {} : { options }),
    ...(applicationName === undefined ? {} : { applicationName }),
  };
}

type Refused = { readonly parameter: string; readonly reason: string; readonly near?: string };

/** The first parameter the URL may not have, and why: unknown, the ledger's own, twice, or a bad value. */
function refusedParameter(params: URLSearchParams): Refused | undefined {
  const seen = new Set<string>();
  for (const parameter of params.keys()) {
    if (seen.has(parameter)) return { parameter, reason: `${parameter} is given twice: give it once` };
    seen.add(parameter);
    const set = LEDGER_SETS[parameter];
    if (set !== undefined) return { parameter, reason: `${parameter} cannot be set in a ledger URL: ${set}` };
    if (OURS.includes(parameter) || DRIVER.includes(parameter)) continue;
    const near = closest(parameter, [...OURS, ...DRIVER]);
    const meant = near === undefined ? '' : ` (did you mean ${near}?)`;
    const reason = `${JSON.stringify(parameter)} is not a parameter a ledger URL takes${meant}; docs/ledger.md ("Location") lists those it takes`;
    return near === undefined ? { parameter, reason } : { parameter, reason, near };
  }
  const ssl = params.get('ssl');
  // node-postgres turns SSL on for any other text, `false` included.
  if (ssl !== null && !['true', '1', '0'].includes(ssl))
    return { parameter: 'ssl', reason: `ssl=${JSON.stringify(ssl)} must be true, 1 or 0 (or use sslmode)` };
  if (/synchronous_commit/i.test(params.get('options') ?? ''))
    return {
      parameter: 'options',
      reason: "options cannot set synchronous_commit: the ledger's durability does (full: on, normal: off)",
    };
  return undefined;
}

/** The label with a refused parameter's value masked too: it may be a credential of a name we do not know. */
function masked(label: string, name: string): string {
  try {
    const url = new URL(label);
    if (url.searchParams.has(name) && name !== 'ssl') url.searchParams.set(name, '***');
    return url.href.replaceAll('%2A%2A%2A', '***');
  } catch {
    return label;
  }
}

/**
 * A driver's error as an error sentence's cause: credentials masked, and a hint where the server's
 * words leave a user guessing (no user name: neither the URL nor PGUSER/USER gave one).
 */
export function connectionCause(at: PostgresLocation, err: unknown): string {
  const cause = at.scrub(causeText(err));
  if (!/no PostgreSQL user name specified/i.test(cause)) return cause;
  return `${cause}; name the user in the URL (postgres://postgres@127.0.0.1:5432/test?schema=…) or set PGUSER`;
}
