import type { AlertEventName, AlertRoute } from '../policy/index.js';
import { type BucketState, takeToken } from '../state/index.js';

/** One route's memory: its GCRA bucket, when each (event, key) was last sent, and what it held back since. */
export type RouteMemory = {
  readonly bucket?: BucketState;
  /** `<event>|<key>` → when it was last sent. */
  readonly sent: ReadonlyMap<string, number>;
  readonly suppressed: number;
};

export const EMPTY_ROUTE: RouteMemory = { sent: new Map(), suppressed: 0 };

/** What to do with one event on one route, and the route's memory after it. */
export type AlertDecision =
  | {
      readonly send: true;
      /** How many this route held back since its last alert: the alert says so. */
      readonly suppressed: number;
      readonly memory: RouteMemory;
    }
  | { readonly send: false; readonly reason: 'duplicate' | 'rate'; readonly memory: RouteMemory };

/**
 * The opposite event that clears a duplicate mark: once a breaker closed, its next opening is news
 * (and the other way round), however soon it comes.
 */
const CLEARS: Partial<Record<AlertEventName, AlertEventName>> = {
  'breaker.closed': 'breaker.opened',
  'breaker.opened': 'breaker.closed',
};

/**
 * Whether `route` sends `event` about `key` at `now`: not when the same event about the same key was
 * sent within the route's dedupe window, nor past its rate (a GCRA bucket, state/gcra.ts). Pure: the
 * shell keeps the memory and counts what is held back. Marks older than the window are dropped.
 */
export function decideAlert(
  route: AlertRoute,
  memory: RouteMemory,
  event: AlertEventName,
  key: string,
  now: number,
): AlertDecision {
  const mark = `${event}|${key}`;
  const last = memory.sent.get(mark);
  if (route.dedupeMs > 0 && last !== undefined && now - last < route.dedupeMs)
    return { send: false, reason: 'duplicate', memory: { ...memory, suppressed: memory.suppressed + 1 } };
  let bucket = memory.bucket;
  if (route.rate !== undefined) {
    const taken = takeToken(bucket, now, route.rate.intervalMs, route.rate.burst);
    if (!taken.ok)
      return { send: false, reason: 'rate', memory: { ...memory, suppressed: memory.suppressed + 1 } };
    bucket = taken.state;
  }
  const sent = new Map<string, number>();
  for (const [k, at] of memory.sent) if (now - at < route.dedupeMs) sent.set(k, at);
  if (route.dedupeMs > 0) sent.set(mark, now);
  const opposite = CLEARS[event];
  if (opposite !== undefined) sent.delete(`${opposite}|${key}`);
  const next: RouteMemory = bucket === undefined ? { sent, suppressed: 0 } : { bucket, sent, suppressed: 0 };
  return { send: true, suppressed: memory.suppressed, memory: next };
}
