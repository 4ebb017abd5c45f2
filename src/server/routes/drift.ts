import type { FastifyInstance } from 'fastify';
import { type DriftReport, driftMonitorsView, driftReport, isMeshwardenError } from '../../runtime/index.js';
import type { ApiDeps } from '../deps.js';
import { apiError } from '../errors.js';
import { errors } from '../schemas.js';

type Query = { agent?: string; threshold?: string; minSamples?: string };

/** Free-form objects: the report's fields are documented in docs/drift.md and docs/api.md. */
const open = { type: 'object', additionalProperties: true } as const;

/**
 * Output drift (docs/drift.md): the report of `meshwarden drift --json`, each field with its binned
 * distributions (baseline and current), and the live monitors of the policy in force: what the
 * console's Drift view draws.
 */
export async function driftRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get<{ Querystring: Query }>(
    '/drift',
    {
      config: {
        role: 'viewer',
        says: {
          agent: 'agent must be a name or name@version, such as optimizer or optimizer@2.1.0',
          threshold: 'threshold must be a decimal number, such as 0.2',
          minSamples: 'minSamples must be a whole number from 1, such as 30',
        },
      },
      schema: {
        summary: 'Output drift of each agent version against the one before it, and the live drift monitors',
        tags: ['drift'],
        querystring: {
          type: 'object',
          properties: {
            agent: {
              type: 'string',
              pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9][A-Za-z0-9.+_-]*)?$',
              description: 'Only this agent, or agent@version (compared with the version before it)',
            },
            threshold: {
              type: 'string',
              // A decimal above 0, as the CLI's --threshold: 0, 0.0 or an empty value is refused (400).
              pattern: '^(?=[0-9.]*[1-9])(0|[1-9][0-9]*)?(\\.[0-9]+)?$',
              description: 'The score at or above which a field drifted: a decimal above 0 (default 0.2)',
            },
            minSamples: {
              type: 'string',
              pattern: '^[1-9][0-9]{0,8}$',
              description: 'Values needed on each side before a field can drift (default 30)',
            },
          },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: {
              agents: { type: 'array', items: open },
              threshold: { type: 'number' },
              minSamples: { type: 'number' },
              scanned: { type: 'number' },
              monitors: { type: 'array', items: open },
            },
          },
          ...errors(400, 404),
        },
      },
    },
    async (req) => {
      const { agent, threshold, minSamples } = req.query;
      const t = threshold === undefined ? undefined : Number(threshold);
      let report: DriftReport;
      try {
        report = await driftReport(deps.ledger, {
          bins: true,
          ...(agent === undefined ? {} : { only: agent }),
          ...(t === undefined ? {} : { threshold: t }),
          ...(minSamples === undefined ? {} : { minSamples: Number(minSamples) }),
        });
      } catch (err) {
        // An agent or version the ledger never saw: a 404 naming what it has, not an empty report.
        if (!isMeshwardenError(err) || err.code !== 'MW_RUNTIME_DRIFT_UNKNOWN') throw err;
        throw apiError(
          'MW_API_NOT_FOUND',
          { what: `${String(err.details?.what)} in the ledger (${String(err.details?.known)})` },
          { details: err.details ?? {} },
        );
      }
      const monitors = await driftMonitorsView(deps.mesh.policy, deps.mesh.state, deps.ledger, deps.now());
      return { ...report, monitors };
    },
  );
}
