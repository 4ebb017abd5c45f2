import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Ledger, openLedger } from '../ledger/index.js';
import { ledgerFile } from '../runtime/index.js';
import { cliError } from './errors.js';
import type { Output } from './output.js';

/** Opens the ledger of an existing data directory, or explains that there is none. */
export function openExistingLedger(dataDir: string, out: Output): Ledger | undefined {
  const file = ledgerFile(resolve(dataDir));
  if (!existsSync(file)) {
    out.error(cliError('MW_CLI_NO_LEDGER', { file, dir: dirname(file) }));
    return undefined;
  }
  return openLedger({ file, origin: 'meshwarden' });
}
