import type { FastifyInstance } from 'fastify';
import {
  escapePointer,
  formatLocation,
  type Policy,
  type PolicyIssue,
  pilotActor,
  reloadPolicy,
} from '../../runtime/index.js';
import type { ApiDeps } from '../deps.js';
import { apiError } from '../errors.js';
import { errors } from '../schemas.js';

const loopSchema = {
  type: 'object',
  properties: {
    maxHops: { type: 'integer' },
    maxRepeats: { type: 'integer' },
    echoWindowMs: { type: 'integer' },
    action: { type: 'string', enum: ['freeze', 'deny'] },
  },
} as const;

const breakerSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    scope: { type: 'string', enum: ['agent', 'edge', 'entity', 'mesh'] },
    count: { type: 'string' },
    failures: { type: 'string', enum: ['failures', 'deadLetters'] },
    over: { type: 'integer' },
    windowMs: { type: 'integer' },
    action: { type: 'string', enum: ['freeze', 'deny'] },
    cooldownMs: { type: 'integer' },
  },
} as const;

/** A breaker rule as mesh.yaml says it, for people reading what a breaker on their mesh does. */
function breakerView(rule: Policy['breakers'][number]) {
  return {
    id: rule.id,
    scope: rule.scope,
    count: rule.count,
    ...(rule.failures === undefined ? {} : { failures: rule.failures.kind }),
    over: rule.over,
    windowMs: rule.windowMs,
    action: rule.action,
    ...(rule.cooldownMs === undefined ? {} : { cooldownMs: rule.cooldownMs }),
  };
}

/** The policy in force, and an admin's reload of the mesh file. */
export async function policyRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  // One reload at a time: two interleaved ones could leave the older file in force.
  let reloading: Promise<unknown> = Promise.resolve();

  app.get(
    '/policy',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'The policy in force: mesh, digest and file, partition count, its loop guard and its breakers',
        tags: ['policy'],
        response: {
          200: {
            type: 'object',
            properties: {
              mesh: { type: 'string' },
              digest: { type: 'string' },
              file: { type: 'string' },
              partitions: { type: 'integer' },
              guards: { type: 'object', properties: { loop: loopSchema } },
              breakers: { type: 'array', items: breakerSchema },
            },
          },
          ...errors(),
        },
      },
    },
    async () => {
      const { mesh, digest, file, partitions, guards, breakers } = deps.mesh.policy;
      const { maxHops, maxRepeats, echoWindowMs, action } = guards.loop;
      return {
        mesh,
        digest,
        file,
        partitions,
        guards: { loop: { maxHops, maxRepeats, echoWindowMs, action } },
        breakers: breakers.map(breakerView),
      };
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
            properties: {
              digest: { type: 'string' },
              changed: { type: 'boolean' },
              warnings: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    code: { type: 'string' },
                    location: { type: 'string' },
                    message: { type: 'string' },
                  },
                },
              },
            },
          },
          ...errors(400, 503),
        },
      },
    },
    async (request) => {
      if (deps.closing()) throw apiError('MW_API_CLOSING');
      // It takes no body (none, or {}): a member is refused at its place, as every route refuses
      // what it does not know, not ignored.
      const body: unknown = request.body;
      if (body !== undefined && body !== null) {
        if (typeof body !== 'object' || Array.isArray(body))
          throw apiError(
            'MW_API_BAD_REQUEST',
            { detail: 'this call takes no body, or {}' },
            { location: { pointer: '' } },
          );
        const member = Object.keys(body)[0];
        if (member !== undefined)
          throw apiError(
            'MW_API_BAD_REQUEST',
            { detail: `this call takes no body, and it has ${JSON.stringify(member)}` },
            { location: { pointer: `/${escapePointer(member)}` } },
          );
      }
      const run = reloading.then(() => reloadPolicy(deps.mesh, pilotActor(request.pilot!.name)));
      reloading = run.catch(() => {});
      const result = await run;
      if (result.ok) {
        deps.log.info({ by: request.pilot?.name, ...result }, 'policy reload');
        const warnings = (result.warnings ?? []).map(issueView);
        return {
          digest: result.digest,
          changed: result.changed,
          ...(warnings.length > 0 ? { warnings } : {}),
        };
      }
      const issues = [
        ...(result.policyIssues ?? []).map(issueView),
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

/** A policy issue as the API shows it: its code, `file:line:col` and sentence. */
function issueView(i: PolicyIssue) {
  return { code: i.code, location: `${i.file}:${i.line}:${i.col}`, message: i.message };
}
