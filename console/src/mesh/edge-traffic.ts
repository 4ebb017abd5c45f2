import type { Decision, VerdictCounts } from '../api/types.js';

export type Traffic = { total: number; dominant: Decision | 'idle'; counts: VerdictCounts | undefined };

// On a tie the more serious verdict wins: a pilot would rather see red than miss it.
const BY_SEVERITY: Decision[] = ['deny', 'quarantine', 'hold', 'deliver'];

/** What passed along one edge in the stats window: how much and which verdict mostly. */
export function edgeTraffic(counts: VerdictCounts | undefined): Traffic {
  if (counts === undefined) return { total: 0, dominant: 'idle', counts };
  let total = 0;
  let dominant: Decision | 'idle' = 'idle';
  let best = 0;
  for (const verdict of BY_SEVERITY) {
    const n = counts[verdict] ?? 0;
    total += n;
    if (n > best) {
      best = n;
      dominant = verdict;
    }
  }
  return { total, dominant, counts };
}

/** Stroke width grows with the logarithm of the traffic, so one busy edge does not swallow the rest. */
export function strokeWidth(total: number): number {
  return total === 0 ? 1.5 : Math.min(10, 2 + Math.log2(1 + total) * 1.4);
}
