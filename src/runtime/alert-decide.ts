import type { AlertEventName, AlertRoute } from '../policy/index.js';
import { type BucketState, takeToken } from '../state/index.js';

/** Dedupe marks one route keeps at most: past it the oldest is forgotten (its duplicate may page again). */
export const MAX_MARKS = 10_000;

/**
 * One route's memory, owned and mutated by the alerter: its GCRA bucket, when each (event, key) was
 * last sent (in send order, so expiry sweeps from the front), and what it held back since.
 */
export type RouteMemory = {
  bucket?: BucketState;
  /** `<event>|<key>` → when it was last sent, oldest first. */
  readonly sent: Map<string, number>;
  suppressed: number;
};

export function createRouteMemory(): RouteMemory {
  return { sent: new Map(), suppressed: 0 };
}

/** What to do with one event on one route. Nothing is changed until commitSent or holdBack. */
export type AlertDecision =
  | {
      readonly send: true;
      /** How many this route held back since its last alert: the alert says so. */
      readonly suppressed: number;
      /** The bucket once this alert's token is taken (absent: no rate, or a resolve). */
      readonly bucket?: BucketState;
    }
  | { readonly send: false; readonly reason: 'duplicate' | 'rate' };

/**
 * The opposite event that clears a duplicate mark: once a breaker closed, its next opening is news
 * (and the other way round), however soon it comes.
 */
const CLEARS: Partial<Record<AlertEventName, AlertEventName>> = {
  'breaker.closed': 'breaker.opened',
  'breaker.opened': 'breaker.closed',
};

/** A resolve: never deduped away nor rate-limited, or a page would stay open (PagerDuty). */
export function isResolve(event: AlertEventName): boolean {
  return event === 'breaker.closed';
}

/**
 * Whether `route` sends `event` about `key` at `now`: not when the same event about the same key was
 * sent within the route's dedupe window, nor past its rate (a GCRA bucket, state/gcra.ts); a resolve
 * always is. Reads the memory only.
 */
export function decideAlert(
  route: AlertRoute,
  memory: RouteMemory,
  event: AlertEventName,
  key: string,
  now: number,
): AlertDecision {
  if (isResolve(event)) return { send: true, suppressed: memory.suppressed };
  const last = memory.sent.get(`${event}|${key}`);
  if (route.dedupeMs > 0 && last !== undefined && now - last < route.dedupeMs)
    return { send: false, reason: 'duplicate' };
  if (route.rate === undefined) return { send: true, suppressed: memory.suppressed };
  const taken = takeToken(memory.bucket, now, route.rate.intervalMs, route.rate.burst);
  if (!taken.ok) return { send: false, reason: 'rate' };
  return { send: true, suppressed: memory.suppressed, bucket: taken.state };
}

/**
 * Records in `memory` that a decided alert was queued: its token, its mark (moved to the end),
 * the opposite mark cleared, expired marks swept from the front and the size capped. O(1) amortised.
 */
export function commitSent(
  route: AlertRoute,
  memory: RouteMemory,
  decision: Extract<AlertDecision, { send: true }>,
  event: AlertEventName,
  key: string,
  now: number,
): void {
  if (decision.bucket !== undefined) memory.bucket = decision.bucket;
  memory.suppressed = 0;
  const { sent } = memory;
  const opposite = CLEARS[event];
  if (opposite !== undefined) sent.delete(`${opposite}|${key}`);
  if (route.dedupeMs <= 0) return;
  const mark = `${event}|${key}`;
  sent.delete(mark);
  sent.set(mark, now);
  for (const [k, at] of sent) {
    if (now - at < route.dedupeMs && sent.size <= MAX_MARKS) break;
    sent.delete(k);
  }
}

/** Counts one alert held back (a duplicate, past the rate, a full queue): the next alert says so. */
export function holdBack(memory: RouteMemory, count = 1): void {
  memory.suppressed += count;
}
