import { fillTemplate, makeError } from '../envelope/index.js';

/** Every error code of the contracts layer, with its sentence template. Callers check `code`. */
export const CONTRACT_ERRORS = {
  MW_CONTRACT_INVALID_SCHEMA: 'the contract for {type} is not a valid JSON Schema 2020-12: {reason}',
  MW_CONTRACT_VIOLATION: 'the payload does not match the contract: {reason}',
  MW_CONTRACT_BAD_POINTER: '"{pointer}" is not a JSON pointer (RFC 6901): {reason}',
  MW_CONTRACT_BREAKING:
    'the contract for {type} changed incompatibly under the same major version: {reason}; publish it as a new major version ({next}) and leave {type} as it was',
  MW_CONTRACT_UNPROVEN:
    'the contract for {type} changed in a way the check cannot prove compatible: {reason}; if senders or recorded payloads may not pass it, publish it as a new major version ({next})',
  MW_CONTRACT_DATA_BREAKING:
    'the new contract for {type} rejects {count} recorded, delivered payload{s} (the first: message {id}, at {at}: {reason}); publish it as a new major version ({next}) and leave {type} as it was',
} as const;

/** The name a breaking change of `type` is published under: `x.v1` → `x.v2`, an unversioned `x` → `x.v2`. */
export function nextMajor(type: string): string {
  const m = /^(.*)\.v(\d+)$/.exec(type);
  return m === null ? `${type}.v2` : `${m[1]}.v${Number(m[2]) + 1}`;
}

export type ContractErrorCode = keyof typeof CONTRACT_ERRORS;

export const contractError = makeError<ContractErrorCode>(CONTRACT_ERRORS);

/** The sentence of a code with its placeholders filled in (for issues that are values, not thrown). */
export function contractMessage(
  code: ContractErrorCode,
  params: Readonly<Record<string, string | number>>,
): string {
  return fillTemplate(CONTRACT_ERRORS[code], params);
}
