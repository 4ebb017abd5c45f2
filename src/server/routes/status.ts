import type { FastifyInstance } from 'fastify';
import { clusterCounts, type Policy } from '../../runtime/index.js';
import type { ApiDeps } from '../deps.js';
import { errorBody } from '../errors.js';
import { anyObject, errorReply, errors, verdictCounts } from '../schemas.js';

const node = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['agent', 'ingress', 'effect'] },
    name: { type: 'string' },
    version: { type: 'string' },
  },
  required: ['id', 'kind', 'name'],
} as const;

const edge = {
  type: 'object',
  properties: { from: { type: 'string' }, to: { type: 'string' }, type: { type: 'string' } },
  required: ['from', 'to', 'type'],
} as const;

/** The latest alert of one rule (docs/api.md, "Alerts"). */
const alert = {
  type: 'object',
  properties: {
    kind: { type: 'string', enum: ['alert'] },
    at: { type: 'string' },
    alert: { type: 'string', enum: ['predicate_error'] },
    id: { type: 'string' },
    rule: { type: 'string' },
    reason: { type: 'string' },
    detail: { type: 'string' },
    count: { type: 'integer' },
    node: { type: 'string' },
  },
  required: ['kind', 'at', 'alert', 'id', 'rule', 'reason', 'detail', 'count'],
} as const;

/** Health, the mesh as a graph, counts and live rates, and the ledger's integrity. */
export async function statusRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get(
    '/health',
    {
      // A liveness probe must answer whoever else calls from its address (a proxy, a bad client).
      config: { rateLimit: false },
      schema: {
        summary:
          'Is the mesh up (no token needed); 503 with the error once its ledger failed, and MW_API_CLOSING while it shuts down',
        tags: ['status'],
        security: [],
        response: {
          200: {
            type: 'object',
            properties: {
              ok: { type: 'boolean' },
              mesh: { type: 'string' },
              node: { type: 'string', description: "In a cluster: this node's id" },
              uptimeSeconds: { type: 'integer' },
            },
          },
          503: errorReply,
        },
      },
    },
    async (_request, reply) => {
      // A mesh whose ledger closed on an error records nothing more: it is not healthy.
      const failure = deps.ledgerFailure();
      if (failure !== undefined) return reply.code(503).send(errorBody(failure));
      return {
        // While it shuts down every call, this one included, is refused before it gets here.
        ok: true,
        mesh: deps.mesh.policy.mesh,
        ...(deps.cluster === undefined ? {} : { node: deps.cluster.node }),
        uptimeSeconds: Math.floor((deps.now() - deps.startedAt) / 1000),
      };
    },
  );

  app.get(
    '/mesh',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The mesh as a graph: agents, ingress sources, effects, and the message types between them',
        tags: ['status'],
        response: {
          200: {
            type: 'object',
            properties: {
              mesh: { type: 'string' },
              digest: { type: 'string' },
              nodes: { type: 'array', items: node },
              edges: { type: 'array', items: edge },
            },
          },
          ...errors(),
        },
      },
    },
    async () => ({
      mesh: deps.mesh.policy.mesh,
      digest: deps.mesh.policy.digest,
      ...graphOf(deps.mesh.policy),
    }),
  );

  app.get(
    '/stats',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'Counts since start, decisions per edge over the last seconds, and alerts (in a cluster: of every live node)',
        tags: ['status'],
        response: {
          200: {
            type: 'object',
            properties: {
              counts: anyObject,
              windowSeconds: { type: 'integer' },
              edges: { type: 'object', additionalProperties: verdictCounts },
              alerts: { type: 'array', items: alert },
            },
          },
          ...errors(503),
        },
      },
    },
    async () => ({
      // A cluster: what every live node counted since it started (a node gone takes its counts along).
      counts:
        deps.cluster === undefined
          ? deps.mesh.counts()
          : clusterCounts([], await deps.cluster.nodes()).counts,
      windowSeconds: deps.live.windowSeconds,
      edges: deps.live.edgeCounts(deps.now()),
      alerts: deps.live.alerts(),
    }),
  );

  const ledgerStatus = {
    200: {
      type: 'object',
      properties: {
        durability: { type: 'string', enum: ['full', 'normal'] },
        entries: { type: 'integer' },
        head: { type: 'string' },
        heads: { type: 'array', items: anyObject },
        lastVerify: { anyOf: [anyObject, { type: 'null' }] },
        verifying: {
          anyOf: [
            {
              type: 'object',
              properties: {
                startedAt: { type: 'string' },
                read: { type: 'integer' },
                total: { type: 'integer' },
              },
            },
            { type: 'null' },
          ],
        },
        lastCheckpoint: { anyOf: [anyObject, { type: 'null' }] },
      },
    },
  } as const;

  app.get(
    '/ledger',
    {
      config: { role: 'viewer' },
      schema: {
        summary: "The ledger's integrity: size, head hash, last verify, last checkpoint",
        tags: ['ledger'],
        response: { ...ledgerStatus, ...errors() },
      },
    },
    async () => deps.integrity.status(),
  );

  app.post(
    '/ledger/verify',
    {
      config: { role: 'pilot' },
      schema: {
        summary: 'Verify every hash chain now; replies with the new status',
        tags: ['ledger'],
        response: { ...ledgerStatus, ...errors() },
      },
    },
    async () => {
      await deps.ledger.flush();
      await deps.integrity.verify();
      return deps.integrity.status();
    },
  );
}

/** Nodes and edges: an edge for each type a node emits and another consumes, or an effect it may request. */
export function graphOf(policy: Policy): {
  nodes: { id: string; kind: string; name: string; version?: string }[];
  edges: { from: string; to: string; type: string }[];
} {
  const nodes: { id: string; kind: string; name: string; version?: string }[] = [];
  const edges: { from: string; to: string; type: string }[] = [];
  const link = (from: string, types: readonly string[]) => {
    for (const type of types) {
      for (const consumer of policy.consumers.get(type) ?? [])
        edges.push({ from, to: `agent:${consumer}`, type });
    }
  };
  for (const ingress of policy.ingress.values()) {
    nodes.push({ id: `ingress:${ingress.name}`, kind: 'ingress', name: ingress.name });
    link(`ingress:${ingress.name}`, ingress.emits);
  }
  for (const agent of policy.agents.values()) {
    const id = `agent:${agent.name}`;
    nodes.push({ id, kind: 'agent', name: agent.name, version: agent.version });
    link(id, agent.emits);
    for (const effect of agent.effects) edges.push({ from: id, to: `effect:${effect}`, type: effect });
  }
  for (const effect of policy.effects.keys())
    nodes.push({ id: `effect:${effect}`, kind: 'effect', name: effect });
  return { nodes, edges };
}
