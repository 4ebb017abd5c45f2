import { makeError } from '../envelope/index.js';

/** Every error code of the contracts layer, with its sentence template. Callers check `code`. */
export const CONTRACT_ERRORS = {
  MW_CONTRACT_INVALID_SCHEMA: 'the contract for {type} is not a valid JSON Schema 2020-12: {reason}',
  MW_CONTRACT_VIOLATION: 'the payload does not match the contract: {reason}',
  MW_CONTRACT_BAD_POINTER: '"{pointer}" is not a JSON pointer (RFC 6901): {reason}',
} as const;

export type ContractErrorCode = keyof typeof CONTRACT_ERRORS;

export const contractError = makeError<ContractErrorCode>(CONTRACT_ERRORS);
