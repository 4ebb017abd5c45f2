import { createHmac } from 'node:crypto';
import type { AlertMessage, JsonObject } from '../../runtime/index.js';

/** The header that carries the signature (docs/alerts.md says how to verify it). */
export const SIGNATURE_HEADER = 'meshwarden-signature';

/** Every field docs/alerts.md lists for an alert: the webhook's `data`, PagerDuty's `custom_details`. */
export function alertFieldsOf(m: AlertMessage): JsonObject {
  return {
    mesh: m.mesh,
    route: m.route,
    sink: m.sink,
    severity: m.severity,
    event: m.event,
    key: m.key,
    summary: m.summary,
    suppressed: m.suppressed,
    partition: m.partition,
    ...(m.msgId === undefined ? {} : { msgId: m.msgId }),
    ...(m.correlationid === undefined ? {} : { correlationid: m.correlationid }),
    ...(m.rule === undefined ? {} : { rule: m.rule }),
    ...(m.link === undefined ? {} : { link: m.link }),
    ...(m.detail === undefined ? {} : { detail: m.detail }),
  };
}

/**
 * An alert as a CloudEvents 1.0 event in structured JSON: `type` is `io.meshwarden.alert.<event>`,
 * `source` the mesh's alerts, `subject` the entity, `id` the alert's own (a receiver's idempotency key).
 */
export function cloudEventOf(m: AlertMessage): JsonObject {
  const data = alertFieldsOf(m);
  return {
    specversion: '1.0',
    id: m.id,
    source: `mesh://${m.mesh}/alerts`,
    type: `io.meshwarden.alert.${m.event}`,
    time: new Date(m.at).toISOString(),
    datacontenttype: 'application/json',
    ...(m.subject === undefined || m.subject === '' ? {} : { subject: m.subject }),
    data,
  };
}

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`: the timestamp is signed with the
 * body, so a receiver can refuse a replayed request (one whose `t` is too old).
 */
export function signatureOf(secret: string, body: string, seconds: number): string {
  const mac = createHmac('sha256', secret).update(`${seconds}.${body}`).digest('hex');
  return `t=${seconds},v1=${mac}`;
}
