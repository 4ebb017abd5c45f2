export { type CompatChange, type CompatResult, compareSchemas } from './compat.js';
export {
  type CompileContractOptions,
  type CompileContractResult,
  compileContract,
  MAX_SCHEMA_DEPTH,
} from './compile.js';
export {
  CONTRACT_ERRORS,
  type ContractErrorCode,
  contractError,
  contractMessage,
  nextMajor,
} from './errors.js';
export {
  backtrackRisk,
  contractPattern,
  linearAvailable,
  runsLinear,
  sameWithoutUnicode,
} from './linear-pattern.js';
export { isJsonPointer, parsePointer, pointerOf } from './pointer.js';
export type { Contract, Issue } from './types.js';
