import type { JsonObject, MeshwardenError } from '../envelope/index.js';
import type { AlertEventName, AlertSeverity, AlertSinkSpec } from '../policy/index.js';

/** One alert as a sink sends it: what happened, where to look, and how many like it were held back. */
export type AlertMessage = {
  /** The alert's own id (a UUIDv7): the CloudEvents `id`, a receiver's idempotency key. */
  readonly id: string;
  readonly at: number;
  readonly mesh: string;
  readonly route: string;
  readonly sink: string;
  readonly severity: AlertSeverity;
  readonly event: AlertEventName;
  /** What it is about: a breaker key, a held message's id… PagerDuty's `dedup_key`. */
  readonly key: string;
  readonly summary: string;
  readonly partition: number;
  readonly msgId?: string;
  readonly subject?: string;
  readonly correlationid?: string;
  readonly rule?: string;
  /** The console's view of it (the case's lineage, or the breakers), when `alerts.console` is set. */
  readonly link?: string;
  /** How many alerts this route held back (dedupe, rate, a full queue) since its previous one. */
  readonly suppressed: number;
  readonly detail?: JsonObject;
};

/** What became of one alert after every try. */
export type SinkResult =
  | { readonly ok: true; readonly attempts: number }
  | { readonly ok: false; readonly attempts: number; readonly error: MeshwardenError };

/**
 * Where alerts go (interop/alerts/ builds them: webhook, Slack, PagerDuty). `send` should never
 * reject (one that does is recorded as failed, MW_RUNTIME_ALERT_SINK_THREW). `signal` aborts it when
 * the warden closes: it then resolves at once, a failure.
 */
export type AlertSink = {
  send(alert: AlertMessage, signal?: AbortSignal): Promise<SinkResult>;
};

/**
 * Builds the sinks a policy's `alerts.sinks` names, reading their secrets from the environment: a
 * missing one is a typed error, so the mesh does not start without a way to page.
 */
export type AlertSinkFactory = (
  specs: ReadonlyMap<string, AlertSinkSpec>,
) => ReadonlyMap<string, AlertSink> | readonly MeshwardenError[];
