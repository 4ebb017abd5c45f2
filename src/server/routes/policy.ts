import type { FastifyInstance } from 'fastify';
import { formatLocation, pilotActor, reloadPolicy } from '../../runtime/index.js';
import type { ApiDeps } from '../deps.js';
import { apiError } from '../errors.js';
import { errors } from '../schemas.js';

/** The policy in force, and an admin's reload of the mesh file. */
export async function policyRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  // One reload at a time: two interleaved ones could leave the older file in force.
  let reloading: Promise<unknown> = Promise.resolve();

  app.get(
    '/policy',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The policy in force: mesh, digest and file',
        tags: ['policy'],
        response: {
          200: {
            type: 'object',
            properties: { mesh: { type: 'string' }, digest: { type: 'string' }, file: { type: 'string' } },
          },
          ...errors(),
        },
      },
    },
    async () => {
      const { mesh, digest, file } = deps.mesh.policy;
      return { mesh, digest, file };
    },
  );

  app.post(
    '/policy/reload',
    {
      config: { role: 'admin' },
      schema: {
        summary:
          'Read the mesh file again and put it in force for everything decided from now on (recorded as policy.loaded)',
        tags: ['policy'],
        response: {
          200: {
            type: 'object',
            properties: { digest: { type: 'string' }, changed: { type: 'boolean' } },
          },
          ...errors(400, 503),
        },
      },
    },
    async (request) => {
      if (deps.closing()) throw apiError('MW_API_CLOSING');
      const run = reloading.then(() => reloadPolicy(deps.mesh, pilotActor(request.pilot!.name)));
      reloading = run.catch(() => {});
      const result = await run;
      if (result.ok) {
        deps.log.info({ by: request.pilot?.name, ...result }, 'policy reload');
        return { digest: result.digest, changed: result.changed };
      }
      const issues = [
        ...(result.policyIssues ?? []).map((i) => ({
          code: i.code,
          location: `${i.file}:${i.line}:${i.col}`,
          message: i.message,
        })),
        ...(result.errors ?? []).map((e) => ({
          code: e.code,
          location: formatLocation(e.location),
          message: e.message,
        })),
      ];
      throw apiError(
        'MW_API_POLICY_INVALID',
        { file: deps.mesh.policy.file, count: issues.length },
        { details: { issues } },
      );
    },
  );
}
