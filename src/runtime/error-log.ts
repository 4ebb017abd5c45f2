import type { Location, MeshwardenError } from '../envelope/index.js';
import { isMeshwardenError } from '../envelope/index.js';

/** The codes that wrap whatever a handler or an executor threw: their cause may be a bug. */
const WRAPPED_THROWS: ReadonlySet<string> = new Set(['MW_RUNTIME_HANDLER', 'MW_RUNTIME_EXECUTOR']);

/** How a log line carries a failure: a typed one as words, an unexpected one under `err` with its stack. */
export type ErrorLogFields = {
  readonly code?: string;
  readonly error?: string;
  readonly location?: Location;
  readonly err?: unknown;
};

/**
 * A failure as a log line carries it. A MeshwardenError is an outcome the code expects (a remote
 * that timed out or refused, a mapping that failed): its code, message and location say what
 * happened, and a stack through the warden's own code would only bury them at every dead letter.
 * Anything else is a bug somewhere, so it goes under `err`, where pino's serializer keeps its stack;
 * so does what a handler or an executor threw that was not typed (the cause of MW_RUNTIME_HANDLER).
 */
export function errorLogFields(error: unknown): ErrorLogFields {
  if (!isMeshwardenError(error)) return { err: error };
  const typed = {
    code: error.code,
    error: error.message,
    ...(error.location === undefined ? {} : { location: error.location }),
  };
  return WRAPPED_THROWS.has(error.code) && isUnexpected(error) ? { ...typed, err: error.cause } : typed;
}

function isUnexpected(error: MeshwardenError): boolean {
  return error.cause !== undefined && !isMeshwardenError(error.cause);
}
