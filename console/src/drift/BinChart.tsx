import type { DriftBins } from '../api/drift-types.js';
import { binLabels, pct } from './drift-words.js';

const H = 120;
const BAR = 18;
const GAP = 32;
const LABEL = 32;

/**
 * Baseline against current, bin by bin: two bars side by side per bin, each as tall as its share of
 * its side (the sides hold different counts); bin labels alternate between two rows so they never
 * overlap. Each bar's title says its count and share; the table under the chart says the same for
 * those who do not read charts.
 */
export function BinChart({
  bins,
  title,
  baseline,
  current,
}: {
  bins: DriftBins;
  title: string;
  baseline: string;
  current: string;
}) {
  const labels = binLabels(bins);
  const nb = sum(bins.baseline);
  const nc = sum(bins.current);
  const share = (n: number, total: number) => (total === 0 ? 0 : n / total);
  const top = Math.max(
    0.01,
    ...bins.baseline.map((n) => share(n, nb)),
    ...bins.current.map((n) => share(n, nc)),
  );
  const width = labels.length * (2 * BAR + GAP) + GAP;
  const bar = (side: 'baseline' | 'current', i: number, n: number, total: number, x: number) => {
    const h = (share(n, total) / top) * H;
    const who = side === 'baseline' ? baseline : current;
    return (
      <rect
        class={`drift-bar ${side}`}
        x={x}
        y={H - h}
        width={BAR}
        height={Math.max(h, n > 0 ? 1 : 0)}
        data-testid="drift-bar"
        data-side={side}
        data-bin={i}
        data-count={n}
      >
        <title>{`${labels[i]}: ${who} ${n} of ${total} (${pct(share(n, total))})`}</title>
      </rect>
    );
  };
  return (
    <figure class="drift-chart" data-testid="drift-chart">
      <svg
        role="img"
        aria-label={`${title}: ${baseline} against ${current}, share of values per bin`}
        viewBox={`0 0 ${width} ${H + LABEL}`}
        width={width}
        height={H + LABEL}
      >
        <title>{`${title}: ${baseline} (${nb} values) against ${current} (${nc} values)`}</title>
        <line x1={0} x2={width} y1={H} y2={H} class="axis" />
        {labels.map((label, i) => {
          const x = GAP + i * (2 * BAR + GAP);
          return (
            <g key={label}>
              {bar('baseline', i, bins.baseline[i] ?? 0, nb, x)}
              {bar('current', i, bins.current[i] ?? 0, nc, x + BAR)}
              <text x={x + BAR} y={H + (i % 2 === 0 ? 12 : 26)} text-anchor="middle" class="bin-label">
                {label.length > 16 ? `${label.slice(0, 15)}…` : label}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption class="legend">
        <span class="swatch baseline" /> {baseline} ({nb} values) <span class="swatch current" /> {current} (
        {nc} values)
      </figcaption>
      <details>
        <summary>As a table</summary>
        <table class="table" data-testid="drift-bin-table">
          <thead>
            <tr>
              <th>Bin</th>
              <th>{baseline}</th>
              <th>{current}</th>
            </tr>
          </thead>
          <tbody>
            {labels.map((label, i) => (
              <tr key={label}>
                <td>{label}</td>
                <td>
                  {bins.baseline[i] ?? 0} ({pct(share(bins.baseline[i] ?? 0, nb))})
                </td>
                <td>
                  {bins.current[i] ?? 0} ({pct(share(bins.current[i] ?? 0, nc))})
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
