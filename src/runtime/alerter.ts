import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { LedgerEntry, LedgerRecord } from '../ledger/index.js';
import type { AlertSinkSpec, AlertsPolicy, Policy } from '../policy/index.js';
import type { BreakerState, HoldState } from '../state/index.js';
import { holdCreatedAlarm } from './alarms.js';
import { createCatchUp } from './alert-catch-up.js';
import type { RouteMemory } from './alert-decide.js';
import { type AlarmInput, alarmOf } from './alert-input.js';
import { createAlertOutcomes } from './alert-outcome.js';
import {
  expiringAfterRestart,
  missingDeadLetterAlerts,
  missingHoldAlerts,
  readStartEntries,
  reconcileSince,
} from './alert-owed.js';
import { createSendQueue } from './alert-queue.js';
import { missingBreakerAlerts } from './alert-reconcile.js';
import { type AlertJob, createRouteOne } from './alert-route.js';
import type { AlertSink } from './alert-sink.js';
import type { MeshEvent } from './events.js';
import { createHoldExpiry, type Timers } from './hold-expiry.js';

export { ALERT_SENT } from './alert-records.js';

/** Alerts sent at once, over all sinks: a slow receiver holds these, never the gate. */
const IN_FLIGHT = 4;
/** How long closing waits for alerts still queued or in flight before it aborts them. */
const CLOSE_WAIT_MS = 10_000;
/** How long closing then waits for aborted sends to record their outcome. */
const ABORT_WAIT_MS = 2_000;

/** What a restart compares to find the alerts a crash lost. */
export type ReconcileStart = {
  readonly open: readonly { readonly key: string; readonly state: BreakerState }[];
  readonly holds: readonly HoldState[];
  /**
   * The `alert.sent` and `dead-letter` entries from about `since` on (alert-start-scan.ts), read only
   * when a route routes an event a restart reconciles.
   */
  readonly entries: (since: number) => AsyncIterable<LedgerEntry>;
};

/** The events a restart reconciles: a route with none of them needs no read of the ledger. */
const RECONCILED: ReadonlySet<string> = new Set([
  'breaker.opened',
  'breaker.closed',
  'hold.created',
  'hold.expiring',
  'dead-letter',
]);

export type AlerterDeps = {
  readonly policy: () => Policy;
  /** The sinks built from the policy the process started with (its `alerts.sinks`, if any). */
  readonly sinks: ReadonlyMap<string, AlertSink>;
  /** Appends an alert's entry in a partition's chain (the one that raised it). */
  readonly append: (record: LedgerRecord, partition: number) => Promise<unknown>;
  readonly publish: (event: MeshEvent) => void;
  /** The partition that owns a subject (an event without one is partition 0's). */
  readonly partitionOf: (subject: string) => number;
  /** Whether a message is still held (for `hold.expiring`). */
  readonly stillHeld: (msgId: string) => boolean;
  readonly clock: () => number;
  readonly newId: () => string;
  readonly log: Logger;
  /** How long close() waits before aborting sends (default 10 s); tests shorten it. */
  readonly closeWaitMs?: number;
  /** The catch-up's and hold.expiring's timers (Node's by default); tests move time with their own. */
  readonly timers?: Timers;
};

export type Alerter = {
  /** Takes a mesh event; returns at once (routing is a few map reads; sending is queued). */
  offer(event: MeshEvent): void;
  /** Alerts queued or in flight. */
  pending(): number;
  /**
   * At start, after recovery: sends the breaker, hold and dead-letter alerts a crash lost (alert-reconcile.ts,
   * alert-owed.ts), reading the breakers open now, the pending holds and the ledger's entries.
   */
  reconcile(start: ReconcileStart): Promise<void>;
  /**
   * The sinks `settings`' routes name that this process did not start with, or whose spec changed
   * since: their alerts fail (MW_RUNTIME_ALERT_SINK) until a restart. What a reload warns of.
   */
  unstarted(settings: AlertsPolicy | undefined): UnstartedSink[];
  /** The policy was reloaded: the `hold.expiring` warnings of the pending holds are timed by it (hold-expiry.ts). */
  retime(holds: readonly HoldState[]): void;
  /**
   * Stops intake and timers, waits (bounded) for what is queued, aborts what is still in flight
   * (recorded as failed), and waits for every outcome to be recorded. Idempotent.
   */
  close(): Promise<void>;
};

/** A route (`index` in `alerts.routes`) whose sink needs a restart to be sent to. */
export type UnstartedSink = { readonly index: number; readonly route: string; readonly sink: string };

/** A sink spec's digest: a reload that changes it reaches a sink this process was not started with. */
function digestOf(spec: AlertSinkSpec | undefined): string {
  return spec === undefined ? '' : createHash('sha256').update(JSON.stringify(spec)).digest('hex');
}

/** The sink a route names, only while its spec is the one the process started with (`started`). */
function sinkLookup(sinks: ReadonlyMap<string, AlertSink>, started: AlertsPolicy | undefined) {
  const digests = new Map([...(started?.sinks ?? new Map()).entries()].map(([n, s]) => [n, digestOf(s)]));
  return (settings: AlertsPolicy, name: string): AlertSink | undefined => {
    const sink = sinks.get(name);
    return sink !== undefined && digestOf(settings.sinks.get(name)) === digests.get(name) ? sink : undefined;
  };
}

/**
 * The shell around decideAlert: turns mesh events into alerts per route (alert-route.ts), sends a
 * few at a time, and records every outcome as an `alert.sent` entry and an `alert-delivery`
 * event. A final failure is also a `dead-letter` event, where pilots see dead letters.
 */
export function createAlerter(deps: AlerterDeps): Alerter {
  const { log, clock, publish } = deps;
  const memory = new Map<string, RouteMemory>();
  const abort = new AbortController();
  let closed = false;
  const alerts = (): AlertsPolicy | undefined => deps.policy().alerts;
  const { record, outcome, threw, recorded } = createAlertOutcomes(deps);
  const queue = createSendQueue<AlertJob>(
    () => alerts()?.queue ?? 0,
    IN_FLIGHT,
    async (job) => outcome(job, await job.sink.send(job.message, abort.signal)),
    threw,
  );

  const sinkOf = sinkLookup(deps.sinks, alerts());
  const routeOne = createRouteOne({
    memory,
    queue,
    sinkOf,
    heldByRate: (route, alarm) => catchUp.held(route, alarm),
    record,
    outcome,
    publish,
    mesh: () => deps.policy().mesh,
    partitionOf: deps.partitionOf,
    newId: deps.newId,
  });

  const raise = (alarm: AlarmInput) => {
    const settings = alerts();
    if (settings === undefined || closed) return;
    const now = clock();
    for (const route of settings.routes)
      if (route.on.includes(alarm.event)) routeOne(settings, route, alarm, now);
    if (alarm.event === 'hold.created') expiry.arm(settings, alarm, now);
  };
  const timers = deps.timers === undefined ? {} : { timers: deps.timers };
  const expiry = createHoldExpiry({
    policy: deps.policy,
    stillHeld: deps.stillHeld,
    clock,
    raise,
    ...timers,
  });
  // Once the rate allows, the latest alert a route held back is sent with the count, if no other did.
  const catchUp = createCatchUp({
    ...timers,
    pending: (route) => memory.get(route.id)?.suppressed ?? 0,
    send: (route, alarm) => {
      const settings = alerts();
      const current = settings?.routes.find((r) => r.id === route.id);
      if (settings === undefined || current === undefined || closed) return;
      routeOne(settings, current, alarm, clock(), true);
    },
  });

  return {
    offer(event) {
      if (closed) return;
      if (event.type === 'released') return expiry.released(event.msgId);
      const alarm = alarmOf(event);
      if (alarm !== undefined) raise(alarm);
    },
    pending: queue.pending,
    unstarted(settings) {
      if (settings === undefined) return [];
      const found: UnstartedSink[] = [];
      settings.routes.forEach((r, index) => {
        if (sinkOf(settings, r.sink) === undefined) found.push({ index, route: r.id, sink: r.sink });
      });
      return found;
    },
    async reconcile(start) {
      const settings = alerts();
      const reconciled = settings?.routes.some((r) => r.on.some((e) => RECONCILED.has(e)));
      if (settings === undefined || !reconciled || closed) return; // no scan of the ledger then
      const now = clock();
      const since = reconcileSince(settings.routes, start.open, start.holds, now);
      const read = await readStartEntries(start.entries(since));
      const missing = [
        ...missingBreakerAlerts(settings.routes, start.open, read.breakers, now),
        ...missingHoldAlerts(settings.routes, start.holds, read, now),
        ...missingDeadLetterAlerts(settings.routes, read, now),
      ];
      for (const { route, alarm } of missing) routeOne(settings, route, alarm, now);
      const expiring = expiringAfterRestart(settings, deps.policy().approvals, start.holds, read, now);
      for (const { route, alarm } of expiring.late) routeOne(settings, route, alarm, now);
      for (const alarm of expiring.arm) expiry.arm(settings, alarm, now);
    },
    retime(holds) {
      if (closed) return;
      const now = clock();
      expiry.retime(
        alerts(),
        holds.map((h) => holdCreatedAlarm(h, now)),
        now,
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      expiry.close();
      catchUp.close();
      if (!(await queue.drain(deps.closeWaitMs ?? CLOSE_WAIT_MS))) {
        log.warn({ pending: queue.pending() }, 'alerts still pending at close: aborted');
        abort.abort();
        await queue.drain(ABORT_WAIT_MS);
      }
      await recorded();
    },
  };
}
