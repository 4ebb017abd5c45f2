import { makeError } from '../envelope/index.js';

export const ledgerError = makeError({
  MW_LEDGER_IO: 'the ledger {file} could not {action}: {cause}',
  MW_LEDGER_SCHEMA:
    'the ledger {file} has schema version {found}, and this version of Meshwarden reads {expected}: run the version that wrote it, or a copy of the ledger from before that version opened it',
  MW_LEDGER_CLOSED: 'the ledger is closed',
  MW_LEDGER_RECORD: 'the record cannot be appended: {problem}',
  MW_LEDGER_CHECKPOINT: 'the checkpoint is not valid: {problem}',
  MW_LEDGER_KEY: 'the checkpoint key {file} could not be {action}: {cause}',
  MW_LEDGER_LOCATION: 'the ledger location {location} cannot be opened: {reason}',
  MW_LEDGER_LOCKED:
    'the ledger {location} is already open for writing by {holder}; one process writes a ledger at a time: stop that one first (why and audit can read the ledger meanwhile), or use another data directory or schema',
  MW_LEDGER_CLUSTERED:
    'the ledger {location} is written by the running nodes of a distributed mesh ({holder} among them): an embedded up or run cannot write it meanwhile; stop every node of that mesh first, join it as a node (--cluster), or use another schema',
  MW_LEDGER_OTHER_MESH:
    "the ledger {location} holds mesh {stored}'s entries, and this node is of mesh {origin}: each mesh needs a ledger of its own (another ?schema=), or give this node's mesh.yaml the name {stored} to join that mesh",
  MW_LEDGER_FENCED:
    'the ledger {location} fenced partition {partition} at entry {seq}: another writer appended to that chain since this one read its head, so this writer no longer writes it',
  MW_LEDGER_ADOPTING:
    'partition {partition} is being adopted (its stored head read): append to it once adopt() has resolved',
});

export type LedgerErrorCode = Parameters<typeof ledgerError>[0];

/** The message of an unknown thrown value, for error sentences. */
export function causeText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Query parameters that carry a credential: pg-connection-string passes every parameter on as a
 * connection setting, so `?password=` is as secret as the URL's own password (and libpq's
 * `sslpassword` unlocks a key). `sslkey`/`sslcert` name files, not secrets.
 */
const CREDENTIAL_PARAM = /pass|secret|token/i;

/** A location without its password (in the URL or a parameter), so no error sentence carries one. */
export function redacted(location: string): string {
  try {
    const url = new URL(location);
    // `scheme:user:pass@host` (no `//`) parses with the credentials in an opaque path.
    if (!url.href.startsWith(`${url.protocol}//`)) throw new Error('not a hierarchical URL');
    if (url.password !== '') url.password = '***';
    for (const name of [...url.searchParams.keys()]) {
      if (CREDENTIAL_PARAM.test(name)) url.searchParams.set(name, '***');
    }
    // searchParams.set re-encodes `*`; keep the mask readable.
    return url.href.replaceAll('%2A%2A%2A', '***');
  } catch {
    return location
      .replace(/^([a-zA-Z][a-zA-Z0-9+.-]+:(?:\/\/)?)[^@/]*@/, '$1***@')
      .replace(/((?:pass|secret|token)[^=&]*=)[^&]*/gi, '$1***');
  }
}

/** The credentials a location carries (its password, credential parameters), to mask in driver text. */
export function credentialsOf(location: string): string[] {
  try {
    const url = new URL(location);
    const found = url.password === '' ? [] : [decodeURIComponent(url.password)];
    for (const [name, value] of url.searchParams)
      if (CREDENTIAL_PARAM.test(name) && value !== '') found.push(value);
    return found;
  } catch {
    return [];
  }
}
