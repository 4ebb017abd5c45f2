import type { RemoteAuth } from './types.js';

/**
 * The `alerts:` settings: which mesh events go to which sink (webhook, Slack, PagerDuty), at which
 * severity, deduplicated and rate-limited per route. docs/alerts.md documents every event and key.
 */

/** The events a route may name in `on:`. docs/alerts.md gives each one's payload. */
export const ALERT_EVENTS = [
  'breaker.opened',
  'breaker.closed',
  'hold.created',
  'hold.expiring',
  'dead-letter',
  'drift.alarm',
  'ledger.verify_failed',
  'circuit.opened',
  'predicate.error',
] as const;
export type AlertEventName = (typeof ALERT_EVENTS)[number];

export const ALERT_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const SINK_TYPES = ['webhook', 'slack', 'pagerduty'] as const;
export type SinkType = (typeof SINK_TYPES)[number];

/** A secret named by its environment variable: read where the warden runs, never written in the file. */
export type SecretRef = { readonly env: string };

export type AlertSinkSpec = {
  readonly name: string;
  readonly type: SinkType;
  /** Where it posts: a URL as written, or one read from the environment (a Slack URL is a secret). */
  readonly url?: string | SecretRef;
  /** PagerDuty's integration (routing) key. */
  readonly routingKey?: SecretRef;
  /** The webhook's HMAC-SHA256 key. */
  readonly secret?: SecretRef;
  /** A credential header sent with every request (`Authorization: Bearer <secret>` unless told). */
  readonly auth?: RemoteAuth;
  /** One try's limit. */
  readonly timeoutMs: number;
  /** Tries after the first before the alert is given up (a dead letter). */
  readonly retries: number;
};

export type AlertRoute = {
  readonly id: string;
  readonly on: readonly AlertEventName[];
  readonly sink: string;
  readonly severity: AlertSeverity;
  /** A GCRA bucket per route: `burst` alerts, one more every `intervalMs`. */
  readonly rate?: { readonly intervalMs: number; readonly burst: number; readonly text: string };
  /** The same (route, event, key) within this long is sent once; 0 sends every one. */
  readonly dedupeMs: number;
};

export type AlertsPolicy = {
  /** The console's base URL, for links to a case's lineage. */
  readonly console?: string;
  /** Alerts waiting to be sent, at most; past it they are counted and recorded as overflow. */
  readonly queue: number;
  /** How long before an approval hold's timeout `hold.expiring` fires. */
  readonly holdExpiringMs: number;
  readonly sinks: ReadonlyMap<string, AlertSinkSpec>;
  readonly routes: readonly AlertRoute[];
};
