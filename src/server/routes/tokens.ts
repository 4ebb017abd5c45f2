import type { FastifyInstance } from 'fastify';
import { isMeshwardenError } from '../../runtime/index.js';
import type { ApiDeps } from '../deps.js';
import { errors } from '../schemas.js';
import { ROLES, type Role } from '../tokens.js';

const tokenInfo = {
  type: 'object',
  properties: { name: { type: 'string' }, role: { type: 'string' }, createdAt: { type: 'string' } },
} as const;
const tokenName = { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' } as const;
/** What a token name must be, in words (a 400 does not quote the pattern). */
const says = {
  name: 'name must be 1 to 64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
};

/** Token management (admin): the new token's secret is in the creating reply and nowhere else. */
export async function tokenRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get(
    '/session',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'Who the calling token is: its name and role (the console shows it, and offers only what the role may do)',
        tags: ['tokens'],
        response: {
          200: {
            type: 'object',
            properties: { name: { type: 'string' }, role: { type: 'string', enum: [...ROLES] } },
            required: ['name', 'role'],
          },
          ...errors(),
        },
      },
    },
    async (request) => ({ name: request.pilot!.name, role: request.pilot!.role }),
  );

  app.get(
    '/tokens',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'List tokens (names, roles, creation time; never the secrets)',
        tags: ['tokens'],
        response: {
          200: { type: 'object', properties: { tokens: { type: 'array', items: tokenInfo } } },
          ...errors(),
        },
      },
    },
    async () => ({ tokens: deps.tokens.list() }),
  );

  app.post<{ Body: { name: string; role: Role } }>(
    '/tokens',
    {
      config: { role: 'admin', says },
      schema: {
        summary: 'Create a token; the reply is the only time its secret is shown',
        tags: ['tokens'],
        body: {
          type: 'object',
          properties: { name: tokenName, role: { type: 'string', enum: [...ROLES] } },
          required: ['name', 'role'],
          additionalProperties: false,
        },
        response: {
          201: { type: 'object', properties: { ...tokenInfo.properties, token: { type: 'string' } } },
          ...errors(400, 409),
        },
      },
    },
    async (request, reply) => {
      const created = await deps.tokens.create(request.body.name, request.body.role);
      if (isMeshwardenError(created)) throw created;
      deps.log.info(
        { name: created.info.name, role: created.info.role, by: request.pilot?.name },
        'token created',
      );
      return reply.code(201).send({ ...created.info, token: created.token });
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/tokens/:name',
    {
      config: { role: 'admin', says },
      schema: {
        summary: 'Revoke a token',
        tags: ['tokens'],
        params: { type: 'object', properties: { name: tokenName }, required: ['name'] },
        response: { 204: { type: 'null' }, ...errors(404, 409) },
      },
    },
    async (request, reply) => {
      const removed = await deps.tokens.remove(request.params.name);
      if (isMeshwardenError(removed)) throw removed;
      deps.log.info({ name: request.params.name, by: request.pilot?.name }, 'token revoked');
      return reply.code(204).send();
    },
  );
}
