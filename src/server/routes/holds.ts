import type { FastifyInstance } from 'fastify';
import {
  ENTRY,
  type HoldView,
  isMeshwardenError,
  type LedgerEntry,
  type MeshwardenError,
  unownedPartitions,
} from '../../runtime/index.js';
import type { ApiDeps } from '../deps.js';
import { apiError } from '../errors.js';
import { errors, reasonBody, unownedSchema } from '../schemas.js';

const hold = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string' },
    subject: { type: 'string' },
    gated: { type: 'string', enum: ['message', 'effect'] },
    source: { type: 'string' },
    hop: { type: 'integer' },
    correlationid: { type: 'string' },
    stage: { type: 'string' },
    rule: { type: ['string', 'null'] },
    reason: { type: 'string' },
    detail: { type: 'string' },
    predicate: { type: ['string', 'null'] },
    heldAt: { type: 'string' },
    timeoutAt: { type: ['string', 'null'] },
    onTimeout: { type: ['string', 'null'], enum: ['deliver', 'deny', null] },
    data: {},
    node: { type: 'string', description: 'In a cluster: the node whose partition holds it' },
  },
  required: ['id', 'type', 'subject', 'stage', 'reason', 'heldAt'],
} as const;

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 100 } },
  required: ['id'],
} as const;

const released = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    outcome: { type: 'string', enum: ['deliver', 'deny'] },
    by: { type: 'string' },
    verdict: { type: 'object', additionalProperties: true },
  },
} as const;

function holdOf(h: HoldView) {
  const e = h.envelope;
  return {
    id: h.msgId,
    type: e.type,
    subject: e.subject,
    gated: h.gated,
    source: e.source,
    hop: e.hop,
    correlationid: e.correlationid,
    stage: h.verdict.stage,
    rule: h.verdict.rule ?? null,
    reason: h.verdict.reason,
    detail: h.verdict.detail ?? '',
    predicate: h.predicate ?? null,
    heldAt: new Date(h.heldAt).toISOString(),
    timeoutAt: h.timeoutAt === undefined ? null : new Date(h.timeoutAt).toISOString(),
    onTimeout: h.onTimeout ?? null,
    data: e.data,
  };
}

/** What waits in this mesh, or (a cluster) in every live node's partitions, oldest first. */
async function heldEverywhere(deps: ApiDeps) {
  if (deps.cluster === undefined) return { holds: deps.mesh.held().map(holdOf) };
  const seen = new Set<string>();
  const holds: (ReturnType<typeof holdOf> & { node: string; at: number })[] = [];
  let unlisted = 0;
  const nodes = await deps.cluster.nodes();
  const unowned = unownedPartitions(nodes, deps.mesh.policy.partitions);
  for (const n of nodes) {
    unlisted += n.heldTotal - n.held.length;
    for (const h of n.held) {
      // A partition changing hands may be listed by both nodes for a moment.
      if (seen.has(h.msgId)) continue;
      seen.add(h.msgId);
      holds.push({ ...holdOf(h), node: n.node, at: h.heldAt });
    }
  }
  const listed = holds.sort((a, b) => a.at - b.at).map(({ at: _at, ...hold }) => hold);
  return {
    holds: listed,
    ...(unlisted === 0 ? {} : { unlisted }),
    ...(unowned.length === 0 ? {} : { unowned }),
  };
}

/** The held queue, and a pilot's approve and reject. */
export async function holdRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get(
    '/holds',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'What waits for a pilot: approval holds, and messages held by the loop guard or a freeze',
        tags: ['holds'],
        response: {
          200: {
            type: 'object',
            properties: {
              holds: { type: 'array', items: hold },
              unlisted: {
                type: 'integer',
                description: 'In a cluster: holds a node has beyond what its status could carry',
              },
              unowned: unownedSchema,
            },
          },
          ...errors(503),
        },
      },
    },
    async () => heldEverywhere(deps),
  );

  for (const action of ['approve', 'reject'] as const) {
    app.post<{ Params: { id: string }; Body: { reason: string } }>(
      `/holds/:id/${action}`,
      {
        config: { role: 'pilot' },
        schema: {
          summary:
            action === 'approve'
              ? 'Approve a held message: deliver it (or execute the effect); recorded with the pilot and reason'
              : 'Reject a held message: drop it; recorded with the pilot and reason',
          tags: ['holds'],
          params: idParams,
          body: reasonBody,
          response: { 200: released, ...errors(400, 404, 503) },
        },
      },
      async (request) => {
        if (deps.closing()) throw apiError('MW_API_CLOSING');
        const act = { pilot: request.pilot!.name, reason: request.body.reason };
        const result =
          action === 'approve'
            ? deps.mesh.pilot.approve(request.params.id, act)
            : deps.mesh.pilot.reject(request.params.id, act);
        if (isMeshwardenError(result)) throw await withAnswer(deps, request.params.id, result);
        let entry: LedgerEntry;
        try {
          entry = await result;
        } catch (err) {
          // In a cluster the owner's refusal comes back here, from another node.
          throw isMeshwardenError(err) ? await withAnswer(deps, request.params.id, err) : err;
        }
        const data = entry.data as { outcome: 'deliver' | 'deny'; by: string; verdict?: object };
        const { id } = request.params;
        return {
          id,
          outcome: data.outcome,
          by: data.by,
          ...(data.verdict === undefined ? {} : { verdict: data.verdict }),
        };
      },
    );
  }
}

/**
 * A hold someone else answered first: who, how and when, from its `hold.released` entry, so the pilot
 * who came second learns what became of it (`error.answered`), not only that it is gone.
 */
async function withAnswer(deps: ApiDeps, id: string, error: MeshwardenError): Promise<MeshwardenError> {
  if (error.code !== 'MW_PILOT_NOT_HELD') return error;
  const entries = await deps.ledger.byMessage(id).catch(() => []);
  const released = entries.findLast((e) => e.kind === ENTRY.holdReleased);
  if (released === undefined) return error;
  const data = released.data as {
    by?: unknown;
    outcome?: unknown;
    verdict?: { decision?: unknown; reason?: unknown };
  };
  if (typeof data.by !== 'string' || (data.outcome !== 'deliver' && data.outcome !== 'deny')) return error;
  // `outcome` is where it ended. An approval (or a timeout that delivers) the gate checked again and
  // refused ended in `deny` too: `refused` says so, so it is never read as a rejection.
  const refused =
    data.verdict !== undefined &&
    data.verdict.decision !== 'deliver' &&
    typeof data.verdict.reason === 'string'
      ? { refused: data.verdict.reason }
      : {};
  const answered = {
    by: data.by,
    outcome: data.outcome,
    at: new Date(released.at).toISOString(),
    ...refused,
  };
  return Object.assign(error, { details: { ...error.details, answered } });
}
