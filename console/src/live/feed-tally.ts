import type { Decision, FeedBatch } from '../api/types.js';
import { createRing } from './ring-buffer.js';

export const SECONDS_SHOWN = 60;
const ROWS_KEPT = 200;

/** `other`: deliveries, executions, dead letters; `unknown`: left out of the feed, verdict unknown. */
export type SecondCounts = Record<Decision, number> & { other: number; unknown: number; dropped: number };
export type FeedRow = { seq: number; event: FeedBatch['events'][number] };

export type FeedSnapshot = {
  /** Oldest first, one per second, ending with the current second. */
  seconds: { second: number; counts: SecondCounts }[];
  totals: SecondCounts;
  rows: FeedRow[];
  /** The newest held, denied and quarantined decisions: what a pilot watches for in heavy traffic. */
  attention: FeedRow[];
};

const DECISIONS: Decision[] = ['deliver', 'deny', 'hold', 'quarantine'];

/** The decisions of one second as the chart stacks them: every verdict, and those left out (unknown). */
export const STACKED: (keyof SecondCounts)[] = ['deliver', 'hold', 'deny', 'quarantine', 'unknown'];

export function decisionsIn(counts: SecondCounts): number {
  return STACKED.reduce((sum, k) => sum + counts[k], 0);
}
const zero = (): SecondCounts => ({
  deliver: 0,
  deny: 0,
  hold: 0,
  quarantine: 0,
  other: 0,
  unknown: 0,
  dropped: 0,
});

/**
 * Counts the live feed per verdict per second and keeps only the newest rows. Adding costs a few
 * operations per event, so 5,000 decisions/s are nothing; the view reads a snapshot a few times a
 * second. When the server sends the interval's true `counts`, they are used (the events may be a
 * sample); otherwise the events are counted and the dropped ones are `unknown`.
 */
export function createFeedTally(now: () => number = Date.now) {
  const perSecond = new Map<number, SecondCounts>();
  const totals = zero();
  const rows = createRing<FeedRow>(ROWS_KEPT);
  const attention = createRing<FeedRow>(ROWS_KEPT);
  let seq = 0;

  const bucket = (second: number): SecondCounts => {
    let counts = perSecond.get(second);
    if (counts === undefined) {
      counts = zero();
      perSecond.set(second, counts);
      for (const s of perSecond.keys()) if (s <= second - SECONDS_SHOWN) perSecond.delete(s);
    }
    return counts;
  };
  const add = (counts: SecondCounts, key: keyof SecondCounts, n: number) => {
    counts[key] += n;
    totals[key] += n;
  };

  return {
    add(batch: FeedBatch): void {
      // Bucketed by arrival: batches come every 250 ms, and the browser's clock is the one drawn.
      const counts = bucket(Math.floor(now() / 1000));
      const counted = batch.counts !== undefined;
      for (const event of batch.events) {
        if (event.kind === 'alert') continue; // shown as banners on every page, not as traffic
        // Rows are decisions, pilots' answers to holds, drift alarms and dead letters; deliveries and
        // executions are only counted.
        if (event.kind === 'drift-alarm') {
          const row = { seq: seq++, event };
          rows.push(row);
          attention.push(row);
        } else if (event.kind === 'decision') {
          const row = { seq: seq++, event };
          rows.push(row);
          if (!counted) add(counts, event.decision, 1);
          if (event.decision !== 'deliver') attention.push(row);
        } else {
          add(counts, 'other', 1);
          if (event.kind === 'dead-letter') {
            const row = { seq: seq++, event };
            rows.push(row);
            attention.push(row);
          } else if (event.kind === 'released') {
            rows.push({ seq: seq++, event });
          }
        }
      }
      if (batch.counts !== undefined) for (const d of DECISIONS) add(counts, d, batch.counts[d] ?? 0);
      add(counts, 'dropped', batch.dropped);
      if (!counted) add(counts, 'unknown', batch.dropped);
    },
    snapshot(): FeedSnapshot {
      const current = Math.floor(now() / 1000);
      const seconds = [];
      for (let s = current - SECONDS_SHOWN + 1; s <= current; s++) {
        seconds.push({ second: s, counts: perSecond.get(s) ?? zero() });
      }
      return { seconds, totals: { ...totals }, rows: rows.newestFirst(), attention: attention.newestFirst() };
    },
  };
}

export type FeedTally = ReturnType<typeof createFeedTally>;
