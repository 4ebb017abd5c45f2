import type { LedgerEntry } from '../ledger/index.js';
import type { AlertEventName, AlertRoute, AlertsPolicy, ApprovalRule } from '../policy/index.js';
import type { HoldState } from '../state/index.js';
import { holdCreatedAlarm } from './alarms.js';
import { type AlarmInput, alarmOf as deadLetterAlarmOf } from './alert-input.js';
import { type BreakerEvent, createBreakerFold, FOUND } from './alert-reconcile.js';
import { expiringAlarm, expiryTimes } from './hold-expiry.js';
import { ENTRY } from './records.js';

/** How far back a restart looks for dead letters whose alert a crash lost (docs/alerts.md). */
export const DEAD_LETTER_LOOKBACK_MS = 24 * 60 * 60 * 1000;

/** What a restart reads from the ledger: when each route last sent each (event, key), and the dead letters. */
export type StartEntries = {
  /** `<route>|<event>|<key>` → the time of that route's newest `sent` alert.sent about it. */
  readonly lastSent: ReadonlyMap<string, number>;
  /** `<route>|<breaker key>` → the last breaker alert that route sent about it. */
  readonly breakers: ReadonlyMap<string, BreakerEvent>;
  /** The newest `dead-letter` entry of each worker. */
  readonly deadLetters: ReadonlyMap<string, LedgerEntry>;
};

/** Folds `alert.sent` and `dead-letter` entries, in any order, into what the restart compares. */
export async function readStartEntries(entries: AsyncIterable<LedgerEntry>): Promise<StartEntries> {
  const lastSent = new Map<string, number>();
  const deadLetters = new Map<string, LedgerEntry>();
  const breakers = createBreakerFold();
  for await (const e of entries) {
    if (e.kind === ENTRY.deadLetter) {
      const worker = e.agent;
      const seen = worker === undefined ? undefined : deadLetters.get(worker);
      if (worker !== undefined && (seen === undefined || seen.at <= e.at)) deadLetters.set(worker, e);
      continue;
    }
    const { route, key, event, outcome } = e.data as Record<string, unknown>;
    if (outcome !== 'sent') continue;
    breakers.add(e);
    const mark = `${String(route)}|${String(event)}|${String(key)}`;
    if ((lastSent.get(mark) ?? -Infinity) <= e.at) lastSent.set(mark, e.at);
  }
  return { lastSent, breakers: breakers.last(), deadLetters };
}

/**
 * From when a restart reads `alert.sent` and `dead-letter` entries: the oldest pending hold, the
 * oldest open breaker's opening, or the dead-letter lookback, whichever is oldest, less the longest
 * dedupe window (an alert that long before could have deduped what came after). Pure.
 */
export function reconcileSince(
  routes: readonly AlertRoute[],
  open: readonly { readonly state: { readonly openedAt: number } }[],
  holds: readonly HoldState[],
  now: number,
): number {
  let since = now - DEAD_LETTER_LOOKBACK_MS;
  for (const b of open) since = Math.min(since, b.state.openedAt);
  for (const h of holds) since = Math.min(since, h.heldAt);
  let dedupe = 0;
  for (const r of routes) dedupe = Math.max(dedupe, r.dedupeMs);
  return since - dedupe;
}

/**
 * Whether `route` owes an alert about `key` for something that happened at `at`: it has sent none
 * since, nor one recent enough to have deduped it (within its dedupe window before `at`).
 */
function owed(
  route: AlertRoute,
  event: AlertEventName,
  key: string,
  at: number,
  read: StartEntries,
): boolean {
  const last = read.lastSent.get(`${route.id}|${event}|${key}`);
  return last === undefined || last < at - route.dedupeMs;
}

/**
 * The `hold.created` alerts a restart owes: per route and alert key (a rule and a subject, so a
 * frozen account's held messages are one alert), about its newest pending hold, when the route
 * sent nothing about that key since (or within its dedupe window before). Pure.
 */
export function missingHoldAlerts(
  routes: readonly AlertRoute[],
  holds: readonly HoldState[],
  read: StartEntries,
  now: number,
): { readonly route: AlertRoute; readonly alarm: AlarmInput }[] {
  const newest = new Map<string, HoldState>();
  for (const h of holds) {
    const key = holdCreatedAlarm(h, now).key;
    const seen = newest.get(key);
    if (seen === undefined || seen.heldAt <= h.heldAt) newest.set(key, h);
  }
  const out: { route: AlertRoute; alarm: AlarmInput }[] = [];
  for (const route of routes) {
    if (!route.on.includes('hold.created')) continue;
    for (const [key, hold] of newest)
      if (owed(route, 'hold.created', key, hold.heldAt, read)) {
        const alarm = holdCreatedAlarm(hold, now);
        out.push({ route, alarm: { ...alarm, summary: `${alarm.summary} (${FOUND})` } });
      }
  }
  return out;
}
/**
 * The `hold.expiring` warnings of a restart, since a timer dies with its process: per pending hold
 * under an approval rule that has not timed out yet, the `hold.created` alarm to arm again when its
 * warning is still to come; when it came due while the warden was down, the warning itself, sent at
 * once (saying so) on each route that sent none about its key since (or within its dedupe window
 * before). Pure.
 */
export function expiringAfterRestart(
  settings: AlertsPolicy,
  approvals: readonly ApprovalRule[],
  holds: readonly HoldState[],
  read: StartEntries,
  now: number,
): {
  readonly arm: readonly AlarmInput[];
  readonly late: readonly { readonly route: AlertRoute; readonly alarm: AlarmInput }[];
} {
  const routes = settings.routes.filter((r) => r.on.includes('hold.expiring'));
  const arm: AlarmInput[] = [];
  const late: { route: AlertRoute; alarm: AlarmInput }[] = [];
  if (routes.length === 0) return { arm, late };
  for (const hold of holds) {
    const rule = approvals.find((a) => a.id === hold.verdict.rule);
    if (rule === undefined) continue; // a loop or freeze hold has no timeout to warn of
    const { warnAt, timeoutAt } = expiryTimes(settings.holdExpiringMs, rule.timeoutMs, hold.heldAt);
    if (timeoutAt <= now) continue; // its timeout is applied now, which says more than a warning
    const created = holdCreatedAlarm(hold, now);
    if (warnAt > now) {
      arm.push(created);
      continue;
    }
    const found = { ...created, summary: `${created.summary.replace(/\.$/, '')} (${FOUND})` };
    const alarm = expiringAlarm(found, rule, timeoutAt, now);
    for (const route of routes)
      if (owed(route, 'hold.expiring', alarm.key, warnAt, read)) late.push({ route, alarm });
  }
  return { arm, late };
}

/**
 * The `dead-letter` alerts a restart owes: per route and worker, about its newest dead letter of
 * the last DEAD_LETTER_LOOKBACK_MS, when the route sent nothing about that worker since (or within
 * its dedupe window before). An alert's own dead letter raises none. Pure.
 */
export function missingDeadLetterAlerts(
  routes: readonly AlertRoute[],
  read: StartEntries,
  now: number,
): { readonly route: AlertRoute; readonly alarm: AlarmInput }[] {
  const out: { route: AlertRoute; alarm: AlarmInput }[] = [];
  for (const route of routes) {
    if (!route.on.includes('dead-letter')) continue;
    for (const [worker, e] of read.deadLetters) {
      if (e.at < now - DEAD_LETTER_LOOKBACK_MS || !owed(route, 'dead-letter', worker, e.at, read)) continue;
      const error = (e.data as { error?: { code?: unknown; message?: unknown } }).error;
      const alarm = deadLetterAlarmOf({
        type: 'dead-letter',
        at: now,
        msgId: e.msgId ?? '',
        worker,
        code: String(error?.code ?? ''),
        message: String(error?.message ?? ''),
        ...(e.subject === undefined ? {} : { subject: e.subject }),
        ...(e.correlationId === undefined ? {} : { correlationid: e.correlationId }),
      });
      if (alarm !== undefined)
        out.push({ route, alarm: { ...alarm, summary: `${alarm.summary} (${FOUND})` } });
    }
  }
  return out;
}
