import type { FastifyInstance } from 'fastify';
import {
  clusterCounts,
  ENTRY,
  isMeshwardenError,
  type RunSummary,
  summarize,
  unownedPartitions,
} from '../../runtime/index.js';
import type { ApiDeps } from '../deps.js';
import { apiError } from '../errors.js';
import { errors, unownedSchema } from '../schemas.js';

const text = { type: 'string', minLength: 1, maxLength: 500 } as const;
const subjectBody = {
  type: 'object',
  properties: { subject: text, reason: text },
  required: ['subject', 'reason'],
  additionalProperties: false,
} as const;

/** Open breakers and frozen subjects, and a pilot's reset, freeze and unfreeze. */
export async function breakerRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { mesh } = deps;
  const refuseWhileClosing = () => {
    if (deps.closing()) throw apiError('MW_API_CLOSING');
  };

  app.get(
    '/breakers',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Open breakers (the loop guard and pilot freezes among them) and frozen subjects',
        tags: ['breakers'],
        response: {
          200: {
            type: 'object',
            properties: {
              breakers: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    key: { type: 'string' },
                    state: { type: 'string' },
                    action: { type: 'string' },
                    openedAt: { type: 'string' },
                    closesAt: { type: ['string', 'null'] },
                    by: { type: 'string' },
                    reason: { type: 'string', description: "A pilot's freeze: the reason the pilot gave" },
                  },
                },
              },
              frozen: { type: 'array', items: { type: 'string' } },
              unowned: unownedSchema,
            },
          },
          ...errors(503),
        },
      },
    },
    async () => {
      // A cluster: the breakers open in any live node's partitions, a key open in several listed once.
      if (deps.cluster === undefined) {
        const summary = summarize(mesh.counts(), mesh.state, deps.ledger, mesh.policy);
        return { breakers: await withReasons(deps.ledger, summary.breakers), frozen: summary.frozen };
      }
      const nodes = await deps.cluster.nodes();
      const { counts, state } = clusterCounts([], nodes);
      const summary = summarize(counts, state, deps.ledger, mesh.policy);
      const unowned = unownedPartitions(nodes, mesh.policy.partitions);
      return {
        breakers: await withReasons(deps.ledger, summary.breakers),
        frozen: summary.frozen,
        ...(unowned.length === 0 ? {} : { unowned }),
      };
    },
  );

  app.post<{ Params: { id: string }; Body: { key: string; reason: string } }>(
    '/breakers/:id/reset',
    {
      config: { role: 'pilot' },
      schema: {
        summary: 'Close an open breaker and clear its count; recorded with the pilot and reason',
        tags: ['breakers'],
        params: { type: 'object', properties: { id: text }, required: ['id'] },
        body: {
          type: 'object',
          properties: { key: text, reason: text },
          required: ['key', 'reason'],
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: { id: { type: 'string' }, key: { type: 'string' }, closed: { type: 'boolean' } },
          },
          ...errors(400, 404, 503),
        },
      },
    },
    async (request) => {
      refuseWhileClosing();
      const { id } = request.params;
      const { key, reason } = request.body;
      const result = mesh.pilot.resetBreaker(id, key, { pilot: request.pilot!.name, reason });
      if (isMeshwardenError(result)) throw result;
      await result;
      return { id, key, closed: true };
    },
  );

  app.post<{ Body: { subject: string; reason: string } }>(
    '/freeze',
    {
      config: { role: 'pilot' },
      schema: {
        summary: 'Freeze a subject: everything for it is held until a pilot unfreezes it',
        tags: ['breakers'],
        body: subjectBody,
        response: {
          200: { type: 'object', properties: { subject: { type: 'string' }, frozen: { type: 'boolean' } } },
          ...errors(400, 409, 503),
        },
      },
    },
    async (request) => {
      refuseWhileClosing();
      const { subject, reason } = request.body;
      const result = mesh.pilot.freeze(subject, { pilot: request.pilot!.name, reason });
      if (isMeshwardenError(result)) throw result;
      await result;
      return { subject, frozen: true };
    },
  );

  app.post<{ Body: { subject: string; reason: string } }>(
    '/unfreeze',
    {
      config: { role: 'pilot' },
      schema: {
        summary: 'Unfreeze a subject: close every freeze on it (loop guard, pilot, freezing breakers)',
        tags: ['breakers'],
        body: subjectBody,
        response: {
          200: {
            type: 'object',
            properties: {
              subject: { type: 'string' },
              frozen: { type: 'boolean' },
              closed: { type: 'array', items: { type: 'string' } },
            },
          },
          ...errors(400, 404, 503),
        },
      },
    },
    async (request) => {
      refuseWhileClosing();
      const { subject, reason } = request.body;
      const result = mesh.pilot.unfreeze(subject, { pilot: request.pilot!.name, reason });
      if (isMeshwardenError(result)) throw result;
      // The unfreeze's ledger entry names the freezes it closed.
      const entry = await result;
      const { breakers } = entry.data as { breakers: string[] };
      return { subject, frozen: false, closed: breakers };
    },
  );
}

/** Each pilot's freeze with the reason the pilot gave: its `pilot.action` entry, the last before it opened. */
async function withReasons(
  ledger: Pick<ApiDeps['ledger'], 'byAgentPrefix'>,
  breakers: RunSummary['breakers'],
): Promise<(RunSummary['breakers'][number] & { reason?: string })[]> {
  if (!breakers.some((b) => b.id === 'pilot')) return [...breakers];
  // Pilots act rarely: all their entries, through the agent index, are a short list.
  const freezes = (await ledger.byAgentPrefix('pilot:')).filter(
    (e) => e.kind === ENTRY.pilotAction && (e.data as { action?: string }).action === 'freeze',
  );
  return breakers.map((b) => {
    if (b.id !== 'pilot') return b;
    const opened = Date.parse(b.openedAt);
    const entry = freezes.filter((e) => e.subject === b.key && e.at <= opened).at(-1);
    const reason = (entry?.data as { reason?: unknown } | undefined)?.reason;
    return typeof reason === 'string' ? { ...b, reason } : b;
  });
}
