import { errorText, isMeshwardenError, MeshwardenError } from '../envelope/index.js';
import { runtimeError } from './errors.js';

/** An error as it crosses between nodes (replies, the control channel): a typed one keeps its code. */
export type WireError = { readonly code?: string; readonly message: string; readonly details?: unknown };

export function errorToWire(err: unknown): WireError {
  if (!isMeshwardenError(err)) return { message: errorText(err) };
  return {
    code: err.code,
    message: err.message,
    ...(err.details === undefined ? {} : { details: err.details }),
  };
}

/**
 * Back to the error it was: a MeshwardenError with the same code, sentence and details; an untyped
 * one (a bug on the other node) as MW_RUNTIME_REMOTE, so no caller gets a raw error.
 */
export function errorFromWire(e: WireError): Error {
  if (e.code === undefined) return runtimeError('MW_RUNTIME_REMOTE', { cause: e.message });
  const details =
    typeof e.details === 'object' && e.details !== null ? (e.details as Record<string, unknown>) : undefined;
  return new MeshwardenError(e.code, e.message, details === undefined ? {} : { details });
}
