import { decisionsIn, type FeedSnapshot, STACKED as STACK } from './feed-tally.js';

const WIDTH = 600;
const HEIGHT = 80;

/** Decisions per second over the last minute, stacked by verdict (grey: left out by the feed, verdict unknown). */
export function RateBars({ seconds }: { seconds: FeedSnapshot['seconds'] }) {
  const totals = seconds.map((s) => decisionsIn(s.counts));
  const peak = Math.max(1, ...totals);
  const barWidth = WIDTH / seconds.length;
  return (
    <svg
      class="rate-bars"
      data-testid="rate-bars"
      data-decisions={totals.reduce((a, b) => a + b, 0)}
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={`Decisions per second over the last minute; busiest second ${peak}`}
    >
      {seconds.map((s, i) => {
        let y = HEIGHT;
        return (
          <g key={s.second}>
            {STACK.map((k) => {
              const h = (s.counts[k] / peak) * (HEIGHT - 4);
              if (h === 0) return null;
              y -= h;
              return (
                <rect
                  key={k}
                  x={i * barWidth + 0.5}
                  y={y}
                  width={barWidth - 1}
                  height={h}
                  class={`bar bar-${k}`}
                />
              );
            })}
          </g>
        );
      })}
    </svg>
  );
}
