import type { Decision } from '../api/types.js';
import type { Traffic } from './edge-traffic.js';

const NOTABLE: { verdict: Decision; word: string }[] = [
  { verdict: 'deny', word: 'denied' },
  { verdict: 'hold', word: 'held' },
  { verdict: 'quarantine', word: 'quarantined' },
];

type Props = { traffic: Traffic; x: number; y: number; windowSeconds: number };

/** "9 in 10s · 1 held · 1 quarantined": the total, and every verdict that is not a plain delivery. */
export function EdgeRate({ traffic, x, y, windowSeconds }: Props) {
  if (traffic.total === 0) {
    return (
      <text x={x} y={y} class="edge-rate">
        quiet
      </text>
    );
  }
  return (
    <text x={x} y={y} class="edge-rate" data-testid="edge-rate">
      {`${traffic.total} in ${windowSeconds}s`}
      {NOTABLE.filter((n) => (traffic.counts?.[n.verdict] ?? 0) > 0).map((n) => (
        <tspan key={n.verdict} class={`rate-${n.verdict}`}>
          {` · ${traffic.counts?.[n.verdict]} ${n.word}`}
        </tspan>
      ))}
    </text>
  );
}
