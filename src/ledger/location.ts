import { fileURLToPath } from 'node:url';
import type { MeshwardenError } from '../envelope/index.js';
import { ledgerError } from './errors.js';
import type { Durability, Ledger } from './ports.js';
import { openLedger } from './sqlite.js';

export type OpenLedgerOptions = {
  /** Names this ledger in its checkpoints (the mesh name); readers leave it out and get the stored one. */
  readonly origin?: string;
  readonly durability?: Durability;
};

// `scheme://…`; a bare path (or a Windows drive, `C:\…`) has no `//` after its colon.
const URL_LIKE = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;

/**
 * The one place a ledger adapter is chosen, by where the ledger lives: a file path (or a `file:`
 * URL) opens the SQLite adapter. Any other URL is an MW_LEDGER_LOCATION error value naming the
 * scheme, so `postgres://…` is refused plainly until its adapter is added here. I/O failures of
 * the adapter itself are thrown, as the adapter throws them.
 */
export function openLedgerAt(location: string, opts: OpenLedgerOptions = {}): Ledger | MeshwardenError {
  const scheme = URL_LIKE.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return openLedger({ file: location, ...opts });
  if (scheme === 'file') {
    let file: string;
    try {
      file = fileURLToPath(location);
    } catch (err) {
      return ledgerError('MW_LEDGER_LOCATION', { location, reason: (err as Error).message });
    }
    return openLedger({ file, ...opts });
  }
  const reason =
    scheme === 'postgres' || scheme === 'postgresql'
      ? 'the PostgreSQL adapter is not part of this version; use a SQLite file'
      : `no ledger adapter reads ${scheme}:// locations; use a SQLite file`;
  return ledgerError('MW_LEDGER_LOCATION', { location: redacted(location), reason });
}

/** The location without a password, so that an error sentence never carries one. */
function redacted(location: string): string {
  try {
    const url = new URL(location);
    if (url.password !== '') url.password = '***';
    return url.href;
  } catch {
    return location.replace(/\/\/[^@/]*@/, '//***@');
  }
}
