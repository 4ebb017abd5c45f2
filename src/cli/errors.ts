import { makeError } from '../runtime/index.js';

export const cliError = makeError({
  MW_CLI_NO_LEDGER: 'no ledger at {file}: {hint}',
  MW_CLI_NOT_FOUND: 'the ledger has no message {id}{hint}',
  MW_CLI_DIR_NOT_EMPTY: '{dir} already has a {what}; refusing to overwrite it',
  MW_CLI_INPUT_MISSING: 'cannot read input file {file}: {cause}',
  MW_CLI_CHECKPOINT_FILE: 'cannot use checkpoint file {file}: {cause}',
  MW_CLI_OUT_FILE: 'cannot write output file {file}: {cause}',
  MW_CLI_MESH_FAILED: 'the mesh in {file} cannot start',
  MW_CLI_LISTEN: 'cannot listen on {host}:{port}: {cause}',
  MW_CLI_NO_TOKEN:
    'this command needs an API token: pass --token or set MESHWARDEN_TOKEN. meshwarden up prints the admin token when it first starts; an admin makes more with POST /api/v1/tokens',
  MW_CLI_BAD_URL: '--url must be an http:// or https:// address such as http://127.0.0.1:7070, not "{url}"',
  MW_CLI_UNREACHABLE:
    'cannot reach the mesh at {url}: {cause}. Is meshwarden up running there? Pass --url or set MESHWARDEN_URL',
  MW_CLI_TIMEOUT: 'the mesh at {url} did not answer within {seconds} seconds',
  MW_CLI_BAD_REPLY:
    'the server at {url} answered {status} without a Meshwarden reply; is it the address meshwarden up printed?',
  MW_CLI_MISSING_OPTION: '{option} is required: {hint}',
  MW_CLI_BAD_DATA: '--data must be JSON text, such as \'{"text": "hello"}\': {cause}',
  MW_CLI_BREAKER_AMBIGUOUS:
    'breaker {id} is open for {count} keys ({keys}); name one: meshwarden breakers reset {id} <key> --reason "…"',
  MW_CLI_BAD_TIME:
    '{option} must be an ISO 8601 time such as {example}, or milliseconds since 1970, not "{text}"',
  MW_CLI_DRIFT_AGENT: '{detail}',
  MW_CLI_BREAKER_NOT_OPEN: 'breaker {id} is not open for any key (open now: {open})',
  MW_CLI_INTERRUPTED:
    "interrupted ({signal}) while opening the mesh: stopped before serving or feeding anything; what a previous run left unfinished is resumed at the next start, and each of the ledger's writes is a transaction, so no entry is half written (the start's own policy.loaded entry may be there)",
  MW_CLI_BAD_WINDOW:
    '--from ({from}) must be before --to ({to}): the window is from --from up to, not including, --to',
});

/** Exit codes of the CLI contract: 0 success, 1 the checked thing failed, 2 usage error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
