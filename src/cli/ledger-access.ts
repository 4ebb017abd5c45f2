import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMeshwardenError, type Ledger, ledgerFile, openLedgerAt } from '../runtime/index.js';
import { cliError } from './errors.js';
import type { Output } from './output.js';

/**
 * Opens the ledger of an existing data directory, or explains that there is none. Its origin (what
 * checkpoints sign) is the mesh name the runtime recorded in it.
 */
export async function openExistingLedger(dataDir: string, out: Output): Promise<Ledger | undefined> {
  const file = ledgerFile(resolve(dataDir));
  if (!existsSync(file)) {
    out.fail(cliError('MW_CLI_NO_LEDGER', { file, dir: dirname(file) }));
    return undefined;
  }
  const ledger = openLedgerAt(file);
  if (isMeshwardenError(ledger)) {
    out.fail(ledger);
    return undefined;
  }
  return ledger;
}
