import { Option } from 'commander';

/** Where the commands keep and find their ledger, tokens and key unless told: `--data`'s default. */
export const DEFAULT_DATA = '.meshwarden';

/** `--ledger`: where `run` and the reading commands find the ledger when not `ledger.db` in `--data`. */
export const ledgerOption = () =>
  new Option(
    '--ledger <location>',
    'the ledger: a SQLite file, or postgres://[user[:password]@]host[:port]/db[?schema=name][&lanes=n] (default: ledger.db in --data; the checkpoint key stays in --data)',
  );
