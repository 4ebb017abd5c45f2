import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { anyObject, errors } from '../schemas.js';

const nodeStatus = {
  type: 'object',
  properties: {
    node: { type: 'string' },
    self: { type: 'boolean' },
    policyDigest: { type: ['string', 'null'] },
    itemsPerMessage: { type: ['integer', 'null'] },
    owned: { type: 'array', items: { type: 'integer' } },
    busy: { type: 'integer' },
    held: { type: 'integer' },
    breakers: { type: 'integer' },
    counts: anyObject,
  },
  required: ['node', 'self', 'owned', 'busy', 'held', 'breakers', 'counts'],
} as const;

/** The cluster a node belongs to: which node answers, the live nodes, and the partitions each owns. */
export async function clusterRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get(
    '/cluster',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'Embedded or a cluster; in a cluster, this node, every live node with the partitions it owns, and partitions no node owns just now',
        tags: ['status'],
        response: {
          200: {
            type: 'object',
            properties: {
              mode: { type: 'string', enum: ['embedded', 'cluster'] },
              node: { type: ['string', 'null'] },
              partitions: { type: 'integer' },
              nodes: { type: 'array', items: nodeStatus },
              unowned: { type: 'array', items: { type: 'integer' } },
            },
            required: ['mode', 'node', 'partitions', 'nodes', 'unowned'],
          },
          ...errors(503),
        },
      },
    },
    async () => {
      const partitions = deps.mesh.policy.partitions;
      const { cluster } = deps;
      if (cluster === undefined) return { mode: 'embedded', node: null, partitions, nodes: [], unowned: [] };
      const nodes = await cluster.nodes();
      const owned = new Set(nodes.flatMap((n) => n.owned));
      return {
        mode: 'cluster',
        node: cluster.node,
        partitions,
        nodes: nodes.map((n) => ({
          node: n.node,
          self: n.node === cluster.node,
          // What a rolling restart with a new policy file shows: nodes on two digests for a while.
          policyDigest: n.policyDigest ?? null,
          // 1 on a mesh whose stream predates packing: what turning it on would change.
          itemsPerMessage: n.itemsPerMessage ?? null,
          owned: [...n.owned].sort((a, b) => a - b),
          busy: n.busy,
          held: n.heldTotal,
          breakers: n.breakers.length,
          counts: n.counts,
        })),
        // Between a node's leaving and another's taking over (a lease time at most after a crash).
        unowned: Array.from({ length: partitions }, (_, p) => p).filter((p) => !owned.has(p)),
      };
    },
  );
}
