export { keyFingerprint, parseCheckpoint, verifyCheckpointSignature } from './checkpoint.js';
export {
  ledgerName,
  locationScheme,
  type OpenLedgerOptions,
  openLedgerAt,
  postgresLocationProblem,
  postgresNameParts,
  sqliteFileOf,
} from './location.js';
export {
  type Durability,
  type Ledger,
  type LedgerReader,
  type LedgerWriter,
  type PartitionSnapshots,
  type QueryLimit,
  type ScanOptions,
  type SnapshotHead,
  type SnapshotRecord,
  sizeOf,
  type VerifyOptions,
} from './ports.js';
export { openPostgresLedger, type PostgresLedgerOptions } from './postgres.js';
export { type LedgerOptions, openLedger } from './sqlite.js';
export type {
  Checkpoint,
  LedgerEntry,
  LedgerRecord,
  PartitionHead,
  StoredRow,
  VerifyProblem,
  VerifyResult,
} from './types.js';
export { VERIFY_PROGRESS_EVERY, verifyChain, verifyLedger, verifyRows } from './verify.js';
