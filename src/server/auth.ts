import type { FastifyReply, FastifyRequest } from 'fastify';
import { apiError } from './errors.js';
import { allows, type PilotRole, type TokenInfo, type TokenStore } from './tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The token's owner, set by the auth hook on every call that needs a token. */
    pilot?: TokenInfo;
  }
  interface FastifyContextConfig {
    /** The least role the route needs; routes without one are public (health, the OpenAPI document). */
    role?: PilotRole;
    /** Also open to `partner` tokens: the endpoints outside callers send through (A2A, MCP). */
    partners?: boolean;
    /** An ingress door (messages, A2A, MCP): a body refused here from a known caller is quarantined. */
    door?: boolean;
    /**
     * What each query or body member must be, in plain words (`agent must be a name or
     * name@version`): a value that fails its schema's pattern is answered with these, not the regex.
     */
    says?: Readonly<Record<string, string>>;
  }
}

/**
 * The API's auth hook: 401 without a known bearer token, 403 when its role is too low. It runs at
 * preParsing, after the rate limiter (which Fastify runs as a route-level onRequest hook), so wrong
 * tokens are limited too, and before any body is parsed, so strangers cost no parsing.
 */
export function bearerAuth(tokens: TokenStore) {
  return async <P>(request: FastifyRequest, reply: FastifyReply, payload: P): Promise<P> => {
    const needed = request.routeOptions.config.role;
    if (needed === undefined) return payload;
    callerOf(tokens, request, reply, needed, request.routeOptions.config.partners === true);
    return payload;
  };
}

/** The token's owner, set as `request.pilot`; throws 401 without a known token, 403 below `needed`. */
export function callerOf(
  tokens: TokenStore,
  request: FastifyRequest,
  reply: FastifyReply,
  needed: PilotRole,
  partners: boolean,
): TokenInfo {
  const token = bearerOf(request.headers.authorization);
  const owner = token === undefined ? undefined : tokens.verify(token);
  if (owner === undefined) {
    reply.header('www-authenticate', 'Bearer');
    throw apiError('MW_API_UNAUTHENTICATED');
  }
  if (!allows(owner.role, needed, partners)) {
    throw apiError('MW_API_FORBIDDEN', { name: owner.name, role: owner.role, needed });
  }
  request.pilot = owner;
  return owner;
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerOf(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}
