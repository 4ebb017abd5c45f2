import { makeError } from '../envelope/index.js';

export const ledgerError = makeError({
  MW_LEDGER_IO: 'the ledger {file} could not {action}: {cause}',
  MW_LEDGER_SCHEMA: 'the ledger {file} has schema version {found}; this version reads {expected}',
  MW_LEDGER_CLOSED: 'the ledger is closed',
  MW_LEDGER_RECORD: 'the record cannot be appended: {problem}',
  MW_LEDGER_CHECKPOINT: 'the checkpoint is not valid: {problem}',
  MW_LEDGER_KEY: 'the checkpoint key {file} could not be {action}: {cause}',
  MW_LEDGER_LOCATION: 'the ledger location {location} cannot be opened: {reason}',
  MW_LEDGER_LOCKED:
    'the ledger {location} is already open for writing by {holder}; one process writes a ledger at a time: stop that one first (why and audit can read the ledger meanwhile), or use another data directory or schema',
  MW_LEDGER_FENCED:
    'the ledger {location} refused an append to partition {partition} at entry {seq}: another writer appended to that chain since this one read its head, so this writer is closed',
});

export type LedgerErrorCode = Parameters<typeof ledgerError>[0];

/** The message of an unknown thrown value, for error sentences. */
export function causeText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A location without its password, so that an error sentence never carries one. */
export function redacted(location: string): string {
  try {
    const url = new URL(location);
    if (url.password !== '') url.password = '***';
    return url.href;
  } catch {
    return location.replace(/\/\/[^@/]*@/, '//***@');
  }
}
