import type { AlertRoute } from '../policy/index.js';
import type { AlarmInput } from './alert-input.js';
import { NODE_TIMERS, type Timers } from './hold-expiry.js';

/**
 * After a storm a route's rate held back, its latest held alert is sent once the bucket has a token
 * again (one interval later), carrying how many were held back: the count reaches on-call even when
 * nothing else comes. Nothing is sent when another alert of the route already reported them.
 */
export type CatchUp = {
  /** `alarm` was held back by `route`'s rate. */
  held(route: AlertRoute, alarm: AlarmInput): void;
  close(): void;
};

export function createCatchUp(deps: {
  /** How many the route holds back now, to be reported. */
  readonly pending: (route: AlertRoute) => number;
  readonly send: (route: AlertRoute, alarm: AlarmInput) => void;
  readonly timers?: Timers;
}): CatchUp {
  const { setTimeout: set, clearTimeout: clear } = deps.timers ?? NODE_TIMERS;
  const latest = new Map<string, AlarmInput>();
  const timers = new Map<string, unknown>();
  const arm = (route: AlertRoute) => {
    if (timers.has(route.id) || route.rate === undefined) return;
    const timer = set(() => {
      timers.delete(route.id);
      const alarm = latest.get(route.id);
      latest.delete(route.id);
      if (alarm !== undefined && deps.pending(route) > 0) deps.send(route, alarm);
    }, route.rate.intervalMs);
    timers.set(route.id, timer);
  };
  return {
    held(route, alarm) {
      latest.set(route.id, alarm);
      arm(route);
    },
    close() {
      for (const t of timers.values()) clear(t);
      timers.clear();
      latest.clear();
    },
  };
}
