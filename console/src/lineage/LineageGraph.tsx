import { useEffect, useMemo, useRef } from 'preact/hooks';
import { ArrowMarkers, markerUrl } from '../graph/ArrowMarkers.js';
import { edgePath, fitted, layoutGraph, textWidth } from '../graph/layout.js';
import { finalVerdict } from '../shell/outcome-words.js';
import { href } from '../shell/route.js';
import type { Lineage } from './lineage-graph.js';

const VERDICT_WORDS = {
  deliver: 'delivered',
  deny: 'denied',
  hold: 'held',
  quarantine: 'quarantined',
} as const;

/** The lineage as a picture: causes flow left to right into the selected message, effects fan out. */
export function LineageGraph({ lineage, selected }: { lineage: Lineage; selected: string }) {
  // The lineage is polled; lay it out again only when what is drawn changed.
  const signature = lineage.nodes.map((n) => `${n.id}:${n.verdict}:${finalVerdict(n)}`).join(' ');
  const laid = useMemo(
    () =>
      layoutGraph({
        nodes: lineage.nodes.map((n) => ({
          id: n.id,
          width:
            Math.max(
              textWidth(n.type, 13),
              textWidth(n.subject, 12),
              finalVerdict(n) === n.verdict ? 90 : textWidth('held, then delivered · effect', 11),
            ) + 28,
          height: 62,
        })),
        edges: lineage.edges.map((e) => ({ from: e.from, to: e.to, name: e.kind })),
      }),
    [signature],
  );
  // Long chains are wider than the page: bring the selected message into view, once.
  const selectedNode = useRef<SVGGElement>(null);
  const scrolledTo = useRef<string | null>(null);
  useEffect(() => {
    if (scrolledTo.current === selected || selectedNode.current === null) return;
    scrolledTo.current = selected;
    selectedNode.current.scrollIntoView({ block: 'nearest', inline: 'center' });
  }, [selected, laid]);
  return (
    <svg
      class="graph lineage-graph"
      data-testid="lineage-graph"
      viewBox={`0 0 ${laid.width} ${laid.height}`}
      style={fitted(laid.width)}
      role="img"
      aria-label={`Lineage: ${lineage.nodes.length} messages and effects`}
    >
      <ArrowMarkers prefix="lineage" />
      {laid.edges.map((e) => (
        <path
          key={`${e.from}|${e.to}|${e.name}`}
          class={`lineage-edge lineage-edge-${e.name}`}
          d={edgePath(e.points)}
          marker-end={markerUrl('lineage', 'idle')}
          data-testid="lineage-edge"
        />
      ))}
      {lineage.nodes.map((n) => {
        const box = laid.nodes.get(n.id);
        if (box === undefined) return null;
        const isSelected = n.id === selected;
        return (
          <a key={n.id} href={href.message(n.id)} class="lineage-link">
            <g
              class={`lineage-node verdict-fill-${n.verdict} ${isSelected ? 'selected' : ''} ${n.gated}`}
              data-testid="lineage-node"
              data-message-id={n.id}
              data-verdict={n.verdict}
              data-selected={isSelected ? 'true' : undefined}
              ref={isSelected ? selectedNode : undefined}
            >
              <title>{`${n.type} for ${n.subject}: ${n.detail}`}</title>
              <rect
                x={box.x - box.width / 2}
                y={box.y - box.height / 2}
                width={box.width}
                height={box.height}
                rx={n.gated === 'effect' ? 2 : 10}
              />
              <text x={box.x} y={box.y - 12} class="node-name">
                {n.type}
              </text>
              <text x={box.x} y={box.y + 5} class="node-caption">
                {n.subject}
              </text>
              <text x={box.x} y={box.y + 21} class="node-verdict">
                {finalVerdict(n) === n.verdict
                  ? VERDICT_WORDS[n.verdict]
                  : `held, then ${VERDICT_WORDS[finalVerdict(n)]}`}
                {n.gated === 'effect' ? ' · effect' : ''}
              </text>
            </g>
          </a>
        );
      })}
    </svg>
  );
}
