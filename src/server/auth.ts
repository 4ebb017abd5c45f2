import type { FastifyReply, FastifyRequest } from 'fastify';
import { apiError, errorBody, statusOf } from './errors.js';
import { allows, type Role, type TokenInfo, type TokenStore } from './tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The token's owner, set by the auth hook on every call that needs a token. */
    pilot?: TokenInfo;
  }
  interface FastifyContextConfig {
    /** The least role the route needs; routes without one are public (health, the OpenAPI document). */
    role?: Role;
  }
}

/** The onRequest hook of the API: 401 without a known bearer token, 403 when its role is too low. */
export function bearerAuth(tokens: TokenStore) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const needed = request.routeOptions.config.role;
    if (needed === undefined) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const owner = match === null ? undefined : tokens.verify(match[1]!);
    if (owner === undefined) {
      const error = apiError('MW_API_UNAUTHENTICATED');
      await reply.code(statusOf(error)).header('www-authenticate', 'Bearer').send(errorBody(error));
      return reply;
    }
    if (!allows(owner.role, needed)) {
      const error = apiError('MW_API_FORBIDDEN', { name: owner.name, role: owner.role, needed });
      await reply.code(statusOf(error)).send(errorBody(error));
      return reply;
    }
    request.pilot = owner;
  };
}
