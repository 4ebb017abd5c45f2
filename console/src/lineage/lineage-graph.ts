import type { ChainLink } from '../api/types.js';

export type LineageEdge = { from: string; to: string; kind: 'cause' | 'echo' };
export type Lineage = { nodes: ChainLink[]; edges: LineageEdge[]; truncated: number };

/** Most a picture can show legibly; the tables below always list everything. */
export const MAX_NODES = 120;

/**
 * Joins the why chain (leading to the selected message) and its impact (what followed) into one
 * graph: nodes are messages and effects, edges are causation, plus dashed echo links (an effect
 * the mesh emitted that came back in as a new message).
 */
export function lineageGraph(why: ChainLink[], roots: ChainLink[], impact: ChainLink[]): Lineage {
  const byId = new Map<string, ChainLink>();
  for (const link of [...why, ...roots, ...impact]) if (!byId.has(link.id)) byId.set(link.id, link);
  const all = [...byId.values()];
  const nodes = all.slice(0, MAX_NODES);
  const shown = new Set(nodes.map((n) => n.id));
  const edges: LineageEdge[] = [];
  for (const n of nodes) {
    // The warden re-links an echo to the effect it echoes, so its cause is usually that effect.
    if (n.causationid !== null && shown.has(n.causationid)) {
      edges.push({ from: n.causationid, to: n.id, kind: n.echoOf === n.causationid ? 'echo' : 'cause' });
    }
    if (n.echoOf !== null && n.echoOf !== n.causationid && shown.has(n.echoOf)) {
      edges.push({ from: n.echoOf, to: n.id, kind: 'echo' });
    }
  }
  return { nodes, edges, truncated: all.length - nodes.length };
}
