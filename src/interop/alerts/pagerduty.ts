import { createHash } from 'node:crypto';
import type { AlertMessage, JsonObject } from '../../runtime/index.js';
import { alertFieldsOf } from './webhook.js';

export const PAGERDUTY_URL = 'https://events.pagerduty.com/v2/enqueue';

/** PagerDuty's longest `dedup_key`. */
export const MAX_DEDUP_KEY = 255;

/**
 * `<mesh>|<key>`: two meshes sharing a routing key never resolve each other's incidents. Past 255
 * characters it is `sha256:<hex of it>`, still the same for the trigger and its resolve.
 */
export function dedupKeyOf(m: Pick<AlertMessage, 'mesh' | 'key'>): string {
  const full = `${m.mesh}|${m.key}`;
  return full.length <= MAX_DEDUP_KEY ? full : `sha256:${createHash('sha256').update(full).digest('hex')}`;
}

/**
 * A PagerDuty Events API v2 event. `breaker.closed` resolves the incident its opening triggered:
 * both carry the breaker key as `dedup_key`, so a pilot's reset (or unfreeze) closes the page.
 */
export function pagerDutyEventOf(m: AlertMessage, routingKey: string): JsonObject {
  const dedupKey = dedupKeyOf(m);
  if (m.event === 'breaker.closed')
    return { routing_key: routingKey, event_action: 'resolve', dedup_key: dedupKey };
  // Every field docs/alerts.md lists, as the webhook's `data` has them, and the alert's id.
  const details: JsonObject = { alert: m.id, ...alertFieldsOf(m) };
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      summary: m.summary.slice(0, 1024),
      source: `meshwarden:${m.mesh}`,
      severity: m.severity,
      timestamp: new Date(m.at).toISOString(),
      ...(m.subject === undefined || m.subject === '' ? {} : { component: m.subject }),
      ...(m.rule === undefined ? {} : { group: m.rule }),
      class: m.event,
      custom_details: details,
    },
    ...(m.link === undefined ? {} : { links: [{ href: m.link, text: 'Lineage in the Meshwarden console' }] }),
  };
}
