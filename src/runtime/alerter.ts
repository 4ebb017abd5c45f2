import type { Logger } from 'pino';
import type { JsonObject } from '../envelope/index.js';
import type { LedgerRecord } from '../ledger/index.js';
import type { AlertEventName, AlertRoute, AlertsPolicy, Policy } from '../policy/index.js';
import { decideAlert, EMPTY_ROUTE, type RouteMemory } from './alert-decide.js';
import { type AlarmInput, alarmOf, linkOf } from './alert-input.js';
import type { AlertMessage, AlertSink } from './alert-sink.js';
import type { MeshEvent } from './events.js';
import { runtimeError } from './errors.js';
import { within } from './within.js';

/** The ledger entry kind of an alert's outcome (docs/ledger.md, docs/alerts.md). */
export const ALERT_SENT = 'alert.sent';

/** Alerts sent at once, over all sinks: a slow receiver holds these, never the gate. */
const IN_FLIGHT = 4;
/** How long closing waits for alerts still queued or in flight. */
const CLOSE_WAIT_MS = 10_000;

export type AlerterDeps = {
  readonly policy: () => Policy;
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
};

export type Alerter = {
  /** Takes a mesh event; returns at once (routing is a few map reads; sending is queued). */
  offer(event: MeshEvent): void;
  /** Alerts queued or in flight. */
  pending(): number;
  /** Stops intake and timers, waits (bounded) for what is queued. Idempotent. */
  close(): Promise<void>;
};

type Job = { readonly message: AlertMessage; readonly sink: AlertSink };

/**
 * The shell around decideAlert: turns mesh events into alerts per route, holds back duplicates and
 * what is past a route's rate (counted, and said by the next alert), queues the rest up to
 * `alerts.queue` (past it: counted and recorded as overflow), sends a few at a time, and records
 * every outcome as an `alert.sent` entry and an `alert-delivery` event. A final failure is also a
 * `dead-letter` event, where pilots see dead letters.
 */
export function createAlerter(deps: AlerterDeps): Alerter {
  const { log } = deps;
  const memory = new Map<string, RouteMemory>();
  const queue: Job[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let running = 0;
  let closed = false;
  let drained: (() => void) | undefined;

  const alerts = (): AlertsPolicy | undefined => deps.policy().alerts;

  const delivery = (
    route: AlertRoute,
    event: AlertEventName,
    outcome: 'sent' | 'failed' | 'suppressed',
    attempts: number,
    reason?: 'duplicate' | 'rate' | 'overflow',
  ) =>
    deps.publish({
      type: 'alert-delivery',
      at: deps.clock(),
      route: route.id,
      sink: route.sink,
      event,
      outcome,
      attempts,
      ...(reason === undefined ? {} : { reason }),
    });

  const record = (m: AlertMessage, outcome: string, attempts: number, error?: JsonObject) => {
    const data: JsonObject = {
      alert: m.id,
      route: m.route,
      sink: m.sink,
      event: m.event,
      key: m.key,
      severity: m.severity,
      outcome,
      attempts,
      suppressed: m.suppressed,
      ...(error === undefined ? {} : { error }),
    };
    const entry: LedgerRecord = {
      kind: ALERT_SENT,
      at: deps.clock(),
      ...(m.msgId === undefined ? {} : { msgId: m.msgId }),
      ...(m.correlationid === undefined ? {} : { correlationId: m.correlationid }),
      ...(m.subject === undefined || m.subject === '' ? {} : { subject: m.subject }),
      data,
    };
    deps.append(entry, m.partition).catch((err: unknown) => {
      log.error({ err, alert: m.id, route: m.route }, 'alert outcome not recorded');
    });
  };

  const pump = () => {
    while (running < IN_FLIGHT && queue.length > 0) {
      const job = queue.shift()!;
      running++;
      void send(job).finally(() => {
        running--;
        pump();
        if (running === 0 && queue.length === 0) drained?.();
      });
    }
  };

  const send = async ({ message: m, sink }: Job) => {
    const route = alerts()?.routes.find((r) => r.id === m.route) ?? routeOf(m);
    const result = await sink.send(m);
    if (result.ok) {
      record(m, 'sent', result.attempts);
      delivery(route, m.event, 'sent', result.attempts);
      return;
    }
    const { code, message } = result.error;
    log.warn(
      { alert: m.id, route: m.route, sink: m.sink, code, attempts: result.attempts },
      'alert not delivered',
    );
    record(m, 'failed', result.attempts, { code, message });
    delivery(route, m.event, 'failed', result.attempts);
    deps.publish({
      type: 'dead-letter',
      at: deps.clock(),
      msgId: m.msgId ?? m.id,
      worker: `alert:${m.route}`,
      code,
      message,
    });
  };

  const route1 = (settings: AlertsPolicy, route: AlertRoute, alarm: AlarmInput, now: number) => {
    const decided = decideAlert(route, memory.get(route.id) ?? EMPTY_ROUTE, alarm.event, alarm.key, now);
    memory.set(route.id, decided.memory);
    if (!decided.send) return delivery(route, alarm.event, 'suppressed', 0, decided.reason);
    const message = messageOf(deps, settings, route, alarm, decided.suppressed);
    const sink = deps.sinks.get(route.sink);
    if (sink === undefined) {
      // A reload named a sink this process was not started with: recorded and told, not dropped.
      const error = runtimeError('MW_RUNTIME_ALERT_SINK', { route: route.id, sink: route.sink });
      log.warn({ route: route.id, sink: route.sink }, 'alert route names a sink not started');
      record(message, 'failed', 0, { code: error.code, message: error.message });
      return delivery(route, alarm.event, 'failed', 0);
    }
    if (queue.length >= settings.queue) {
      // Recorded, counted into the route's next alert, and told: never silent.
      const m = memory.get(route.id)!;
      memory.set(route.id, { ...m, suppressed: m.suppressed + 1 + decided.suppressed });
      record(message, 'overflow', 0);
      return delivery(route, alarm.event, 'suppressed', 0, 'overflow');
    }
    queue.push({ message, sink });
    pump();
  };

  const raise = (alarm: AlarmInput) => {
    const settings = alerts();
    if (settings === undefined || closed) return;
    const now = deps.clock();
    for (const route of settings.routes)
      if (route.on.includes(alarm.event)) route1(settings, route, alarm, now);
    if (alarm.event === 'hold.created') armExpiring(settings, alarm, now);
  };

  /** `hold.expiring`, `alerts.holdExpiring` before an approval hold's timeout, if still held then. */
  const armExpiring = (settings: AlertsPolicy, alarm: AlarmInput, now: number) => {
    if (!settings.routes.some((r) => r.on.includes('hold.expiring')) || alarm.msgId === undefined) return;
    const rule = deps.policy().approvals.find((a) => a.id === alarm.rule);
    if (rule === undefined) return;
    const heldAt = typeof alarm.detail?.heldAt === 'number' ? alarm.detail.heldAt : now;
    const timeoutAt = heldAt + rule.timeoutMs;
    const delay = Math.max(0, timeoutAt - settings.holdExpiringMs - now);
    const msgId = alarm.msgId;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!deps.stillHeld(msgId)) return;
      const minutes = Math.max(1, Math.round((timeoutAt - deps.clock()) / 60_000));
      raise({
        ...alarm,
        event: 'hold.expiring',
        summary: `${alarm.summary}; it times out (${rule.onTimeout}) in about ${minutes} min`,
        detail: { ...alarm.detail, timeoutAt, onTimeout: rule.onTimeout },
      });
    }, delay);
    timer.unref();
    timers.add(timer);
  };

  return {
    offer(event) {
      if (closed) return;
      const alarm = alarmOf(event);
      if (alarm !== undefined) raise(alarm);
    },
    pending: () => queue.length + running,
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      if (running === 0 && queue.length === 0) return;
      const done = new Promise<void>((resolve) => {
        drained = resolve;
      });
      if (!(await within(CLOSE_WAIT_MS, done)))
        log.warn({ pending: queue.length + running }, 'alerts still pending at close');
    },
  };
}

function routeOf(m: AlertMessage): AlertRoute {
  return { id: m.route, on: [m.event], sink: m.sink, severity: m.severity, dedupeMs: 0 };
}

function messageOf(
  deps: Pick<AlerterDeps, 'newId' | 'clock' | 'partitionOf' | 'policy'>,
  settings: AlertsPolicy,
  route: AlertRoute,
  alarm: AlarmInput,
  suppressed: number,
): AlertMessage {
  const partition = alarm.partition ?? (alarm.subject === undefined ? 0 : deps.partitionOf(alarm.subject));
  const link = linkOf(settings.console, alarm);
  return {
    id: deps.newId(),
    at: alarm.at,
    mesh: deps.policy().mesh,
    route: route.id,
    sink: route.sink,
    severity: route.severity,
    event: alarm.event,
    key: alarm.key,
    summary: alarm.summary,
    partition,
    ...(alarm.msgId === undefined ? {} : { msgId: alarm.msgId }),
    ...(alarm.subject === undefined ? {} : { subject: alarm.subject }),
    ...(alarm.correlationid === undefined ? {} : { correlationid: alarm.correlationid }),
    ...(alarm.rule === undefined ? {} : { rule: alarm.rule }),
    ...(link === undefined ? {} : { link }),
    suppressed,
    ...(alarm.detail === undefined ? {} : { detail: alarm.detail }),
  };
}
