import type { LedgerEntry } from '../ledger/index.js';
import type { AlertEventName, AlertRoute } from '../policy/index.js';
import { type BreakerState, breakerOpenAt, parseBreakerKey } from '../state/index.js';
import type { AlarmInput } from './alert-input.js';

/** What a restart says of an alert it sends late, in the alert's summary. */
export const FOUND = 'found when the warden restarted: its alert had not been sent';

export type BreakerEvent = Extract<AlertEventName, 'breaker.opened' | 'breaker.closed'>;

/** `<route>|<breaker key>` → the last breaker alert that route sent about it, from `alert.sent` entries. */
export async function lastBreakerAlerts(
  entries: AsyncIterable<LedgerEntry>,
): Promise<Map<string, BreakerEvent>> {
  const fold = createBreakerFold();
  for await (const e of entries) fold.add(e);
  return fold.last();
}

/** The fold lastBreakerAlerts runs, one entry at a time (so one scan feeds several folds). */
export function createBreakerFold() {
  const last = new Map<string, { at: number; event: BreakerEvent }>();
  return {
    add(e: LedgerEntry): void {
      const { route, key, event, outcome } = e.data as Record<string, unknown>;
      if (outcome !== 'sent' || (event !== 'breaker.opened' && event !== 'breaker.closed')) return;
      const mark = `${String(route)}|${String(key)}`;
      const seen = last.get(mark);
      if (seen === undefined || seen.at <= e.at) last.set(mark, { at: e.at, event });
    },
    last: (): Map<string, BreakerEvent> => new Map([...last].map(([mark, { event }]) => [mark, event])),
  };
}

/**
 * What a restart still owes on-call (alerts are at most once across a crash): per route, the
 * opening of a breaker open now whose last alert on that route was not its opening, and the
 * closing of one no longer open whose last alert was its opening. Pure.
 */
export function missingBreakerAlerts(
  routes: readonly AlertRoute[],
  open: readonly { readonly key: string; readonly state: BreakerState }[],
  last: ReadonlyMap<string, BreakerEvent>,
  now: number,
): { readonly route: AlertRoute; readonly alarm: AlarmInput }[] {
  const out: { route: AlertRoute; alarm: AlarmInput }[] = [];
  // The state keeps a breaker past its cooldown until a message for it is gated: closed all the same.
  const openNow = open.filter((b) => breakerOpenAt(b.state, now));
  const openKeys = new Set(openNow.map((b) => b.key));
  for (const route of routes) {
    if (route.on.includes('breaker.opened'))
      for (const b of openNow)
        if (last.get(`${route.id}|${b.key}`) !== 'breaker.opened')
          out.push({ route, alarm: alarmOf('breaker.opened', b.key, now, b.state) });
    if (route.on.includes('breaker.closed'))
      for (const [mark, event] of last) {
        const key = mark.slice(route.id.length + 1);
        if (mark.startsWith(`${route.id}|`) && event === 'breaker.opened' && !openKeys.has(key))
          out.push({ route, alarm: alarmOf('breaker.closed', key, now) });
      }
  }
  return out;
}

function alarmOf(event: BreakerEvent, key: string, now: number, state?: BreakerState): AlarmInput {
  const parsed = parseBreakerKey(key);
  const rule = parsed?.id ?? key;
  const scopeKey = parsed?.scopeKey ?? '';
  return {
    at: now,
    event,
    key,
    subject: scopeKey,
    rule,
    summary: `breaker ${rule} ${event === 'breaker.opened' ? 'is open' : 'closed'} for ${scopeKey} (${FOUND})`,
    detail:
      state === undefined
        ? { breaker: rule, scopeKey, by: 'restart' }
        : { breaker: rule, scopeKey, action: state.action, by: state.by, openedAt: state.openedAt },
  };
}
