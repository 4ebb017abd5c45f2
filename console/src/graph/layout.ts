import { type EdgeLabel, Graph, type GraphLabel, layout, type NodeLabel } from '@dagrejs/dagre';

export type Box = { x: number; y: number; width: number; height: number };
export type Point = { x: number; y: number };

export type LayoutInput = {
  nodes: { id: string; width: number; height: number }[];
  /** `name` tells apart several edges between the same two nodes (one per message type). */
  edges: { from: string; to: string; name: string; labelWidth?: number; labelHeight?: number }[];
  rankdir?: 'LR' | 'TB';
};

export type Laid = {
  width: number;
  height: number;
  nodes: Map<string, Box>;
  edges: { from: string; to: string; name: string; points: Point[]; label: Point }[];
};

/** Places nodes and routes edges with dagre; x/y of a node is its centre. */
export function layoutGraph(input: LayoutInput): Laid {
  const g = new Graph<GraphLabel, NodeLabel, EdgeLabel>({ multigraph: true });
  g.setGraph({
    rankdir: input.rankdir ?? 'LR',
    nodesep: 36,
    ranksep: 48,
    edgesep: 16,
    marginx: 16,
    marginy: 16,
  });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of input.nodes) g.setNode(n.id, { width: n.width, height: n.height });
  for (const e of input.edges) {
    if (!g.hasNode(e.from) || !g.hasNode(e.to)) continue;
    g.setEdge(
      e.from,
      e.to,
      { width: e.labelWidth ?? 0, height: e.labelHeight ?? 0, labelpos: 'c', minlen: 1 },
      e.name,
    );
  }
  layout(g);
  const nodes = new Map<string, Box>();
  for (const id of g.nodes()) {
    const n = g.node(id);
    nodes.set(id, { x: n.x ?? 0, y: n.y ?? 0, width: n.width, height: n.height });
  }
  const edges = g.edges().map((ref) => {
    const e = g.edge(ref);
    const points = (e.points ?? []).map((p) => ({ x: p.x, y: p.y }));
    const middle = points[Math.floor(points.length / 2)] ?? { x: 0, y: 0 };
    return {
      from: ref.v,
      to: ref.w,
      name: ref.name ?? '',
      points,
      label: { x: e.x ?? middle.x, y: e.y ?? middle.y },
    };
  });
  const size = g.graph();
  return { width: size.width ?? 0, height: size.height ?? 0, nodes, edges };
}

/** A smooth SVG path through dagre's points (quadratic curves between midpoints). */
export function edgePath(points: Point[]): string {
  if (points.length === 0) return '';
  const [first, ...rest] = points;
  let d = `M${first!.x},${first!.y}`;
  if (rest.length === 1) return `${d} L${rest[0]!.x},${rest[0]!.y}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const p = rest[i]!;
    const next = rest[i + 1]!;
    d += ` Q${p.x},${p.y} ${(p.x + next.x) / 2},${(p.y + next.y) / 2}`;
  }
  const last = rest[rest.length - 1]!;
  return `${d} L${last.x},${last.y}`;
}

/** Rough width of a label in px at the console's graph font size, for layout only. */
export function textWidth(text: string, px = 13): number {
  return Math.ceil(text.length * px * 0.6);
}

/** Shrinks a graph to the frame's width down to 65% of its natural size (still legible); wider ones scroll. */
export function fitted(width: number): { width: string; minWidth: number; maxWidth: number } {
  return { width: '100%', minWidth: Math.round(width * 0.65), maxWidth: width };
}
