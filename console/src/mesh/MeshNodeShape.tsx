import type { MeshNode } from '../api/types.js';
import type { Box } from '../graph/layout.js';

const CAPTION: Record<MeshNode['kind'], string> = {
  agent: 'agent',
  ingress: 'way in',
  effect: 'side effect',
};

/** Agents are rounded boxes, ingresses pills (where messages enter), effects hexagons (where they leave). */
export function MeshNodeShape({ node, box }: { node: MeshNode; box: Box }) {
  const { x, y, width: w, height: h } = box;
  const left = x - w / 2;
  const top = y - h / 2;
  const caption = node.kind === 'agent' && node.version ? `agent · v${node.version}` : CAPTION[node.kind];
  return (
    <g class={`node node-${node.kind}`} data-testid="mesh-node" data-node-id={node.id} data-kind={node.kind}>
      <title>{`${CAPTION[node.kind]} ${node.name}`}</title>
      {node.kind === 'agent' && <rect x={left} y={top} width={w} height={h} rx={8} />}
      {node.kind === 'ingress' && <rect x={left} y={top} width={w} height={h} rx={h / 2} />}
      {node.kind === 'effect' && (
        <polygon
          points={[
            [left, y],
            [left + 14, top],
            [left + w - 14, top],
            [left + w, y],
            [left + w - 14, top + h],
            [left + 14, top + h],
          ]
            .map((p) => p.join(','))
            .join(' ')}
        />
      )}
      <text x={x} y={y - 3} class="node-name">
        {node.name}
      </text>
      <text x={x} y={y + 14} class="node-caption">
        {caption}
      </text>
    </g>
  );
}
