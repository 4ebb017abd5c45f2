import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ENTRY, type Ledger, ledgerFile, openLedger } from '../runtime/index.js';
import { cliError } from './errors.js';
import type { Output } from './output.js';

/**
 * Opens the ledger of an existing data directory, or explains that there is none. The ledger's
 * origin (what checkpoints sign) is the mesh named by its last `policy.loaded` entry.
 */
export async function openExistingLedger(dataDir: string, out: Output): Promise<Ledger | undefined> {
  const file = ledgerFile(resolve(dataDir));
  if (!existsSync(file)) {
    out.fail(cliError('MW_CLI_NO_LEDGER', { file, dir: dirname(file) }));
    return undefined;
  }
  const probe = openLedger({ file, origin: 'meshwarden' });
  let origin = 'meshwarden';
  for (const entry of probe.scan({ kinds: [ENTRY.policyLoaded] })) {
    if (typeof entry.data.mesh === 'string') origin = entry.data.mesh;
  }
  await probe.close();
  return openLedger({ file, origin });
}
