import { useMemo } from 'preact/hooks';
import type { MeshGraph, Stats } from '../api/types.js';
import { ArrowMarkers, markerUrl } from '../graph/ArrowMarkers.js';
import { edgePath, fitted, layoutGraph, textWidth } from '../graph/layout.js';
import { EdgeRate } from './EdgeRate.js';
import { edgeTraffic, strokeWidth } from './edge-traffic.js';
import { MeshNodeShape } from './MeshNodeShape.js';

const NODE_HEIGHT = 48;
const LABEL_HEIGHT = 44;

/** The mesh as a left-to-right picture; edges show what crossed them in the stats window. */
export function MeshGraphView({ graph, stats }: { graph: MeshGraph; stats: Stats | undefined }) {
  // Layout depends on the graph only, so polling stats does not move anything.
  const laid = useMemo(
    () =>
      layoutGraph({
        nodes: graph.nodes.map((n) => ({
          id: n.id,
          width: Math.max(textWidth(n.name, 14), textWidth(`agent · v${n.version ?? ''}`, 11)) + 40,
          height: NODE_HEIGHT,
        })),
        edges: graph.edges.map((e) => ({
          from: e.from,
          to: e.to,
          name: e.type,
          labelWidth: Math.max(textWidth(e.type, 12), textWidth('999 in 10s · 99 denied', 11)) + 16,
          labelHeight: LABEL_HEIGHT,
        })),
      }),
    [graph],
  );
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const windowSeconds = stats?.windowSeconds ?? 10;

  return (
    <svg
      class="graph mesh-graph"
      data-testid="mesh-graph"
      viewBox={`0 0 ${laid.width} ${laid.height}`}
      style={fitted(laid.width)}
      role="img"
      aria-label={`Mesh ${graph.mesh}: ${graph.nodes.length} nodes, ${graph.edges.length} edges`}
    >
      <ArrowMarkers prefix="mesh" />
      {laid.edges.map((e) => {
        const key = `${e.from} ${e.name}`;
        const traffic = edgeTraffic(stats?.edges[key]);
        return (
          <g
            key={`${e.from}|${e.to}|${e.name}`}
            class={`edge edge-${traffic.dominant}`}
            data-testid="mesh-edge"
            data-edge-key={key}
            data-verdict={traffic.dominant}
          >
            <title>{trafficTitle(e.name, traffic.counts, windowSeconds)}</title>
            <path
              d={edgePath(e.points)}
              style={{ strokeWidth: strokeWidth(traffic.total) }}
              marker-end={markerUrl('mesh', traffic.dominant)}
            />
            {/* Above and below the line, so a thick edge never covers its words. */}
            <text x={e.label.x} y={e.label.y - 12} class="edge-label">
              {e.name}
            </text>
            <EdgeRate traffic={traffic} x={e.label.x} y={e.label.y + 13} windowSeconds={windowSeconds} />
          </g>
        );
      })}
      {graph.nodes.map((n) => {
        const box = laid.nodes.get(n.id);
        return box === undefined ? null : <MeshNodeShape key={n.id} node={byId.get(n.id)!} box={box} />;
      })}
    </svg>
  );
}

function trafficTitle(type: string, counts: Stats['edges'][string] | undefined, seconds: number): string {
  if (counts === undefined) return `${type}: nothing in the last ${seconds}s`;
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([verdict, n]) => `${n} ${verdict}`);
  return `${type} in the last ${seconds}s: ${parts.join(', ') || 'nothing'}`;
}
