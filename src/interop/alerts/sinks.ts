import type { AlertSink, AlertSinkSpec, MeshwardenError, SecretRef } from '../../runtime/index.js';
import { credentialOf, headersOf } from '../auth.js';
import { interopError } from '../errors.js';
import { PAGERDUTY_URL, pagerDutyEventOf } from './pagerduty.js';
import { postWithRetries } from './post.js';
import { slackMessageOf } from './slack.js';
import { cloudEventOf, SIGNATURE_HEADER, signatureOf } from './webhook.js';

export type AlertSinkOptions = {
  readonly env?: NodeJS.ProcessEnv;
  /** First backoff delay between tries (default 500 ms); tests shorten it. */
  readonly initialDelayMs?: number;
  readonly clock?: () => number;
};

/**
 * The sinks `alerts.sinks` names, their secrets read from the environment now: a missing one is a
 * typed error (MW_INTEROP_ALERT_ENV), and the mesh does not start. Every problem is returned at once.
 */
export function createAlertSinks(
  specs: ReadonlyMap<string, AlertSinkSpec>,
  opts: AlertSinkOptions = {},
): ReadonlyMap<string, AlertSink> | readonly MeshwardenError[] {
  const env = opts.env ?? process.env;
  const clock = opts.clock ?? Date.now;
  const errors: MeshwardenError[] = [];
  const read = (spec: AlertSinkSpec, what: string, ref: SecretRef | string | undefined): string => {
    if (ref === undefined || typeof ref === 'string') return ref ?? '';
    const value = env[ref.env] ?? '';
    if (value === '')
      errors.push(
        interopError('MW_INTEROP_ALERT_ENV', {
          sink: spec.name,
          what,
          env: ref.env,
          problem: 'is not set or empty; set it where the warden runs',
        }),
      );
    return value;
  };
  // A URL read from the environment is checked now: a malformed one would fail every send with a
  // message that quotes it (a secret). The error names the variable, never the value.
  const readUrl = (spec: AlertSinkSpec): string => {
    const url = read(spec, 'url', spec.url);
    if (url !== '' && typeof spec.url === 'object' && !isHttpUrl(url))
      errors.push(
        interopError('MW_INTEROP_ALERT_ENV', {
          sink: spec.name,
          what: 'url',
          env: spec.url.env,
          problem: 'is not an http(s) URL; set it to the URL the receiver gave you',
        }),
      );
    return url;
  };
  const sinks = new Map<string, AlertSink>();
  for (const spec of specs.values()) {
    const url = readUrl(spec);
    const credential = credentialOf(spec.auth, `alert sink ${spec.name}`, env);
    if (credential instanceof Error) errors.push(credential);
    const auth = credential instanceof Error ? {} : headersOf(credential);
    const post = (
      target: string,
      body: string,
      signal: AbortSignal | undefined,
      headers: () => Record<string, string> = () => ({}),
    ) =>
      postWithRetries(
        {
          ...(signal === undefined ? {} : { signal }),
          clock,
          sink: spec.name,
          type: spec.type,
          url: target,
          timeoutMs: spec.timeoutMs,
          retries: spec.retries,
          ...(opts.initialDelayMs === undefined ? {} : { initialDelayMs: opts.initialDelayMs }),
        },
        body,
        () => ({ ...auth, ...headers() }),
      );
    if (spec.type === 'pagerduty') {
      const routingKey = read(spec, 'routingKey', spec.routingKey);
      const target = url === '' ? PAGERDUTY_URL : url;
      sinks.set(spec.name, {
        send: (m, signal) => post(target, JSON.stringify(pagerDutyEventOf(m, routingKey)), signal),
      });
    } else if (spec.type === 'slack') {
      sinks.set(spec.name, { send: (m, signal) => post(url, JSON.stringify(slackMessageOf(m)), signal) });
    } else {
      const secret = spec.secret === undefined ? undefined : read(spec, 'secret', spec.secret);
      sinks.set(spec.name, {
        send: (m, signal) => {
          const body = JSON.stringify(cloudEventOf(m));
          return post(url, body, signal, () => ({
            'content-type': 'application/cloudevents+json; charset=utf-8',
            ...(secret === undefined
              ? {}
              : { [SIGNATURE_HEADER]: signatureOf(secret, body, Math.floor(clock() / 1000)) }),
          }));
        },
      });
    }
  }
  return errors.length > 0 ? errors : sinks;
}

function isHttpUrl(text: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(text).protocol);
  } catch {
    return false;
  }
}
