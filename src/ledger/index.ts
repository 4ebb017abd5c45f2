export type { Ledger, ScanOptions } from './ledger.js';
export type {
  Checkpoint,
  LedgerEntry,
  LedgerRecord,
  PartitionHead,
  VerifyProblem,
  VerifyResult,
} from './types.js';
