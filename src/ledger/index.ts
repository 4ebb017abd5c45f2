export { parseCheckpoint, verifyCheckpointSignature } from './checkpoint.js';
export type { Ledger, ScanOptions } from './ledger.js';
export type { Durability } from './schema.js';
export { type LedgerOptions, openLedger } from './sqlite.js';
export type {
  Checkpoint,
  LedgerEntry,
  LedgerRecord,
  PartitionHead,
  VerifyProblem,
  VerifyResult,
} from './types.js';
export { type StoredRow, verifyChain } from './verify.js';
