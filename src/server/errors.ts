import { type MeshwardenError, makeError } from '../runtime/index.js';

export const apiError = makeError({
  MW_API_BAD_REQUEST: '{detail}',
  MW_API_UNAUTHENTICATED: 'this call needs a valid token: send Authorization: Bearer <token>',
  MW_API_FORBIDDEN: 'token {name} has role {role}; this call needs role {needed}',
  MW_API_NOT_FOUND: '{what} was not found',
  MW_API_RATE_LIMITED: 'too many calls with this token: at most {max} a minute; retry in {after}',
  MW_API_TOKEN_EXISTS: 'a token named {name} already exists',
  MW_API_CLOSING: 'the mesh is shutting down',
  MW_API_TOKENS_FILE: 'cannot use the tokens file {file}: {cause}',
  MW_API_INTERNAL: 'the server failed on this call; its log says why',
});

/** The one place error codes become HTTP statuses (STYLE.md: only server/ maps codes to HTTP). */
const STATUS: Readonly<Record<string, number>> = {
  MW_API_BAD_REQUEST: 400,
  MW_API_UNAUTHENTICATED: 401,
  MW_API_FORBIDDEN: 403,
  MW_API_NOT_FOUND: 404,
  MW_PILOT_NOT_HELD: 404,
  MW_PILOT_NO_BREAKER: 404,
  MW_PILOT_NOT_FROZEN: 404,
  MW_PILOT_UNKNOWN_INGRESS: 404,
  MW_PILOT_ALREADY_FROZEN: 409,
  MW_API_TOKEN_EXISTS: 409,
  MW_API_RATE_LIMITED: 429,
  MW_API_CLOSING: 503,
  MW_RUNTIME_CLOSED: 503,
};

export function statusOf(error: MeshwardenError): number {
  return STATUS[error.code] ?? 500;
}

/** The body of every error reply: `{ error: { code, message, pointer? } }`. */
export function errorBody(error: MeshwardenError): {
  error: { code: string; message: string; pointer?: string };
} {
  const pointer = error.location?.pointer;
  return {
    error: { code: error.code, message: error.message, ...(pointer === undefined ? {} : { pointer }) },
  };
}
