import type { AlertMessage, JsonObject } from '../../runtime/index.js';

export const PAGERDUTY_URL = 'https://events.pagerduty.com/v2/enqueue';

/**
 * A PagerDuty Events API v2 event. `breaker.closed` resolves the incident its opening triggered:
 * both carry the breaker key as `dedup_key`, so a pilot's reset (or unfreeze) closes the page.
 */
export function pagerDutyEventOf(m: AlertMessage, routingKey: string): JsonObject {
  if (m.event === 'breaker.closed')
    return { routing_key: routingKey, event_action: 'resolve', dedup_key: m.key };
  const details: JsonObject = {
    route: m.route,
    event: m.event,
    key: m.key,
    suppressed: m.suppressed,
    alert: m.id,
    ...(m.msgId === undefined ? {} : { msgId: m.msgId }),
    ...(m.correlationid === undefined ? {} : { correlationid: m.correlationid }),
    ...(m.detail === undefined ? {} : { detail: m.detail }),
  };
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: m.key,
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
