import type { Decision } from '../api/types.js';

export const MARKER_KINDS = ['idle', 'deliver', 'hold', 'deny', 'quarantine'] as const;
export type MarkerKind = (typeof MARKER_KINDS)[number];

export function markerUrl(prefix: string, kind: MarkerKind | Decision): string {
  return `url(#${prefix}-arrow-${kind})`;
}

/** One arrow head per verdict colour (SVG markers cannot inherit the stroke colour everywhere). */
export function ArrowMarkers({ prefix }: { prefix: string }) {
  return (
    <defs>
      {MARKER_KINDS.map((kind) => (
        <marker
          key={kind}
          id={`${prefix}-arrow-${kind}`}
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          markerUnits="userSpaceOnUse"
          orient="auto-start-reverse"
        >
          <path d="M0,0 L10,5 L0,10 z" class={`arrow arrow-${kind}`} />
        </marker>
      ))}
    </defs>
  );
}
