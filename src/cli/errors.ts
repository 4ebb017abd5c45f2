import { makeError } from '../runtime/index.js';

export const cliError = makeError({
  MW_CLI_NO_LEDGER: 'no ledger at {file}: run a mesh with --data {dir} first, or pass the right --data',
  MW_CLI_NOT_FOUND: 'the ledger has no message {id}',
  MW_CLI_DIR_NOT_EMPTY: '{dir} already has a {what}; refusing to overwrite it',
  MW_CLI_INPUT_MISSING: 'cannot read input file {file}: {cause}',
  MW_CLI_CHECKPOINT_FILE: 'cannot use checkpoint file {file}: {cause}',
  MW_CLI_MESH_FAILED: 'the mesh in {file} cannot start',
  MW_CLI_LISTEN: 'cannot listen on {host}:{port}: {cause}',
});

/** Exit codes of the CLI contract: 0 success, 1 the checked thing failed, 2 usage error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
