import type { JsonObject } from '../envelope/index.js';
import type { LedgerRecord } from '../ledger/index.js';
import type { AlertRoute, AlertsPolicy } from '../policy/index.js';
import { type AlarmInput, linkOf } from './alert-input.js';
import type { AlertMessage } from './alert-sink.js';
import type { MeshEvent } from './events.js';

/** The ledger entry kind of an alert's outcome (docs/ledger.md, docs/alerts.md). */
export const ALERT_SENT = 'alert.sent';

export type AlertOutcomeName = 'sent' | 'failed' | 'overflow';

/** An alert's outcome as a ledger entry, indexed by the message it concerns so `why` finds it. Pure. */
export function alertSentRecord(
  at: number,
  m: AlertMessage,
  outcome: AlertOutcomeName,
  attempts: number,
  error?: JsonObject,
): LedgerRecord {
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
  return {
    kind: ALERT_SENT,
    at,
    ...(m.msgId === undefined ? {} : { msgId: m.msgId }),
    ...(m.correlationid === undefined ? {} : { correlationId: m.correlationid }),
    ...(m.subject === undefined || m.subject === '' ? {} : { subject: m.subject }),
    data,
  };
}

/** The `alert-delivery` event telemetry counts. Pure. */
export function deliveryEvent(
  at: number,
  route: Pick<AlertRoute, 'id' | 'sink'>,
  event: AlertMessage['event'],
  outcome: 'sent' | 'failed' | 'suppressed',
  attempts: number,
  reason?: 'duplicate' | 'rate' | 'overflow',
): MeshEvent {
  return {
    type: 'alert-delivery',
    at,
    route: route.id,
    sink: route.sink,
    event,
    outcome,
    attempts,
    ...(reason === undefined ? {} : { reason }),
  };
}

/** The alert one route sends about one alarm. Pure but for the id, which is given. */
export function alertMessageOf(
  id: string,
  mesh: string,
  settings: AlertsPolicy,
  route: AlertRoute,
  alarm: AlarmInput,
  partition: number,
  suppressed: number,
): AlertMessage {
  const link = linkOf(settings.console, alarm);
  return {
    id,
    at: alarm.at,
    mesh,
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
