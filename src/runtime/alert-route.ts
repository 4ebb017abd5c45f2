import type { JsonObject } from '../envelope/index.js';
import type { AlertRoute, AlertsPolicy } from '../policy/index.js';
import {
  commitSent,
  createRouteMemory,
  decideAlert,
  holdBack,
  isResolve,
  type RouteMemory,
} from './alert-decide.js';
import type { AlarmInput } from './alert-input.js';
import type { SendQueue } from './alert-queue.js';
import { type AlertOutcomeName, alertMessageOf, deliveryEvent } from './alert-records.js';
import type { AlertMessage, AlertSink, SinkResult } from './alert-sink.js';
import { runtimeError } from './errors.js';
import type { MeshEvent } from './events.js';

export type AlertJob = {
  readonly message: AlertMessage;
  readonly sink: AlertSink;
  readonly route: AlertRoute;
};

export type RouteOneDeps = {
  readonly memory: Map<string, RouteMemory>;
  readonly queue: SendQueue<AlertJob>;
  /** The sink a route's alerts go to, if it is the one this process started with. */
  readonly sinkOf: (settings: AlertsPolicy, name: string) => AlertSink | undefined;
  /** `alarm` was held back by `route`'s rate (catch-up sends it later). */
  readonly heldByRate: (route: AlertRoute, alarm: AlarmInput) => void;
  readonly record: (m: AlertMessage, outcome: AlertOutcomeName, attempts: number, error?: JsonObject) => void;
  /** An alert's end (alert-outcome.ts): its entry, its delivery event, and a dead letter when it failed. */
  readonly outcome: (job: Pick<AlertJob, 'message' | 'route'>, result: SinkResult) => void;
  readonly publish: (event: MeshEvent) => void;
  readonly mesh: () => string;
  readonly partitionOf: (subject: string) => number;
  readonly newId: () => string;
};

/**
 * Routes one alarm through one route: decides (alert-decide.ts), queues what is sent, and only then
 * commits the route's memory, so an overflowed alert is counted as held back, never as sent.
 * `resent`: a held alert sent late (catch-up), which its route already counted among those held.
 */
export function createRouteOne(deps: RouteOneDeps) {
  const { memory, publish } = deps;
  const memoryOf = (route: AlertRoute): RouteMemory => {
    const known = memory.get(route.id);
    if (known !== undefined) return known;
    const fresh = createRouteMemory();
    memory.set(route.id, fresh);
    return fresh;
  };

  return (settings: AlertsPolicy, route: AlertRoute, alarm: AlarmInput, now: number, resent = false) => {
    const m = memoryOf(route);
    const decided = decideAlert(route, m, alarm.event, alarm.key, now);
    if (!decided.send) {
      if (decided.reason === 'rate') deps.heldByRate(route, alarm);
      // A held alert held again is still one: counted and told once.
      if (resent) return;
      holdBack(m);
      return publish(deliveryEvent(now, route, alarm.event, 'suppressed', 0, decided.reason));
    }
    const partition = alarm.partition ?? (alarm.subject === undefined ? 0 : deps.partitionOf(alarm.subject));
    const others = decided.suppressed - (resent ? 1 : 0);
    const message = alertMessageOf(deps.newId(), deps.mesh(), settings, route, alarm, partition, others);
    const sink = deps.sinkOf(settings, route.sink);
    if (sink === undefined) {
      // A reload named or changed a sink this process was not started with: recorded, logged with its
      // code and a dead letter pilots see, as any alert that could not be delivered; never dropped.
      commitSent(route, m, decided, alarm.event, alarm.key, now);
      const error = runtimeError('MW_RUNTIME_ALERT_SINK', { route: route.id, sink: route.sink });
      return deps.outcome({ message, route }, { ok: false, attempts: 0, error });
    }
    if (deps.queue.offer({ message, sink, route }, isResolve(alarm.event))) {
      commitSent(route, m, decided, alarm.event, alarm.key, now);
      return;
    }
    // The queue is full: recorded, counted into the route's next alert (the memory is not committed,
    // so the same event is not a duplicate later), and told; never silent.
    if (!resent) holdBack(m);
    deps.record(message, 'overflow', 0);
    if (!resent) publish(deliveryEvent(now, route, alarm.event, 'suppressed', 0, 'overflow'));
  };
}
