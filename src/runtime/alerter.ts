import type { Logger } from 'pino';
import type { JsonObject } from '../envelope/index.js';
import type { LedgerRecord } from '../ledger/index.js';
import type { AlertRoute, AlertsPolicy, Policy } from '../policy/index.js';
import { createCatchUp } from './alert-catch-up.js';
import { decideAlert, EMPTY_ROUTE, type RouteMemory } from './alert-decide.js';
import { type AlarmInput, alarmOf } from './alert-input.js';
import { createSendQueue } from './alert-queue.js';
import { type AlertOutcomeName, alertMessageOf, alertSentRecord, deliveryEvent } from './alert-records.js';
import type { AlertMessage, AlertSink } from './alert-sink.js';
import { runtimeError } from './errors.js';
import type { MeshEvent } from './events.js';
import { createHoldExpiry } from './hold-expiry.js';

export { ALERT_SENT } from './alert-records.js';

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

type Job = { readonly message: AlertMessage; readonly sink: AlertSink; readonly route: AlertRoute };

/**
 * The shell around decideAlert: turns mesh events into alerts per route, holds back duplicates and
 * what is past a route's rate (counted, and said by the next alert), queues the rest up to
 * `alerts.queue` (past it: counted and recorded as overflow), sends a few at a time, and records
 * every outcome as an `alert.sent` entry and an `alert-delivery` event. A final failure is also a
 * `dead-letter` event, where pilots see dead letters.
 */
export function createAlerter(deps: AlerterDeps): Alerter {
  const { log, clock, publish } = deps;
  const memory = new Map<string, RouteMemory>();
  let closed = false;
  const alerts = (): AlertsPolicy | undefined => deps.policy().alerts;

  const record = (m: AlertMessage, outcome: AlertOutcomeName, attempts: number, error?: JsonObject) =>
    deps.append(alertSentRecord(clock(), m, outcome, attempts, error), m.partition).catch((err: unknown) => {
      log.error({ err, alert: m.id, route: m.route }, 'alert outcome not recorded');
    });

  const send = async ({ message: m, sink, route }: Job) => {
    const result = await sink.send(m);
    if (result.ok) {
      record(m, 'sent', result.attempts);
      return publish(deliveryEvent(clock(), route, m.event, 'sent', result.attempts));
    }
    const { code, message } = result.error;
    log.warn(
      { alert: m.id, route: m.route, sink: m.sink, code, attempts: result.attempts },
      'alert not delivered',
    );
    record(m, 'failed', result.attempts, { code, message });
    publish(deliveryEvent(clock(), route, m.event, 'failed', result.attempts));
    const msgId = m.msgId ?? m.id;
    publish({ type: 'dead-letter', at: clock(), msgId, worker: `alert:${m.route}`, code, message });
  };
  const queue = createSendQueue<Job>(() => alerts()?.queue ?? 0, IN_FLIGHT, send);

  /** `resent`: a held alert sent late (catch-up), which its route counted among those held back. */
  const routeOne = (
    settings: AlertsPolicy,
    route: AlertRoute,
    alarm: AlarmInput,
    now: number,
    resent = false,
  ) => {
    const decided = decideAlert(route, memory.get(route.id) ?? EMPTY_ROUTE, alarm.event, alarm.key, now);
    if (!decided.send) {
      if (decided.reason === 'rate') catchUp.held(route, alarm);
      // A held alert held again is still one: counted and told once.
      if (resent)
        return memory.set(route.id, { ...decided.memory, suppressed: decided.memory.suppressed - 1 });
      memory.set(route.id, decided.memory);
      return publish(deliveryEvent(now, route, alarm.event, 'suppressed', 0, decided.reason));
    }
    memory.set(route.id, decided.memory);
    const partition = alarm.partition ?? (alarm.subject === undefined ? 0 : deps.partitionOf(alarm.subject));
    const mesh = deps.policy().mesh;
    const others = decided.suppressed - (resent ? 1 : 0);
    const message = alertMessageOf(deps.newId(), mesh, settings, route, alarm, partition, others);
    const sink = deps.sinks.get(route.sink);
    if (sink === undefined) {
      // A reload named a sink this process was not started with: recorded and told, not dropped.
      const error = runtimeError('MW_RUNTIME_ALERT_SINK', { route: route.id, sink: route.sink });
      log.warn({ route: route.id, sink: route.sink }, 'alert route names a sink not started');
      record(message, 'failed', 0, { code: error.code, message: error.message });
      return publish(deliveryEvent(now, route, alarm.event, 'failed', 0));
    }
    if (queue.offer({ message, sink, route })) return;
    // The queue is full: recorded, counted into the route's next alert, and told; never silent.
    const m = memory.get(route.id)!;
    memory.set(route.id, { ...m, suppressed: m.suppressed + 1 + others });
    record(message, 'overflow', 0);
    if (!resent) publish(deliveryEvent(now, route, alarm.event, 'suppressed', 0, 'overflow'));
  };

  const raise = (alarm: AlarmInput) => {
    const settings = alerts();
    if (settings === undefined || closed) return;
    const now = clock();
    for (const route of settings.routes)
      if (route.on.includes(alarm.event)) routeOne(settings, route, alarm, now);
    if (alarm.event === 'hold.created') expiry.arm(settings, alarm, now);
  };
  const expiry = createHoldExpiry({ policy: deps.policy, stillHeld: deps.stillHeld, clock, raise });
  // Once the rate allows, the latest alert a route held back is sent with the count, if no other did.
  const catchUp = createCatchUp({
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
      const alarm = alarmOf(event);
      if (alarm !== undefined) raise(alarm);
    },
    pending: queue.pending,
    async close() {
      if (closed) return;
      closed = true;
      expiry.close();
      catchUp.close();
      if (!(await queue.drain(CLOSE_WAIT_MS)))
        log.warn({ pending: queue.pending() }, 'alerts still pending at close');
    },
  };
}
