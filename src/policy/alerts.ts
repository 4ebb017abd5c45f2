import type {
  AlertEventName,
  AlertRoute,
  AlertSeverity,
  AlertSinkSpec,
  AlertsPolicy,
  SecretRef,
  SinkType,
} from './alert-types.js';
import {
  type Checker,
  duration,
  entriesOf,
  isObj,
  labelOf,
  listOf,
  num,
  type Obj,
  shown,
  str,
} from './check.js';
import { UNIQUE_ROUTE_IDS } from './errors.js';
import { authOf } from './graph.js';
import { parseRate } from './units.js';

/** Defaults docs/alerts.md lists with the same values. */
const DEFAULTS = { queue: 1000, holdExpiring: '15m', timeout: '5s', retries: 8, dedupe: '10m' } as const;

/** What each sink type needs to be reached. */
const NEEDS: Readonly<Record<SinkType, readonly string[]>> = {
  webhook: ['url'],
  slack: ['url'],
  pagerduty: ['routingKey'],
};

/** The `alerts:` section, or nothing when the file has none. Shape mistakes were reported by schema.ts. */
export function compileAlerts(check: Checker, doc: Obj): AlertsPolicy | undefined {
  if (!isObj(doc.alerts)) return undefined;
  const alerts = doc.alerts;
  const sinks = new Map<string, AlertSinkSpec>();
  for (const [name, raw] of entriesOf(alerts.sinks)) {
    if (!isObj(raw)) continue;
    const sink = compileSink(check, name, raw);
    if (sink !== undefined) sinks.set(name, sink);
  }
  const routes: AlertRoute[] = [];
  const ids = new Set<string>();
  listOf(alerts.routes).forEach((raw, i) => {
    if (!isObj(raw)) return;
    const route = compileRoute(check, raw, ['alerts', 'routes', i], sinks, entriesOf(alerts.sinks));
    if (ids.has(route.id))
      check.report(
        'MW_POLICY_DUPLICATE_ID',
        { id: route.id, other: 'another route', unique: UNIQUE_ROUTE_IDS },
        ['alerts', 'routes', i, 'id'],
      );
    ids.add(route.id);
    routes.push(route);
  });
  const console = str(alerts.console);
  return {
    ...(console === undefined ? {} : { console: console.replace(/\/+$/, '') }),
    queue: num(alerts.queue, DEFAULTS.queue),
    holdExpiringMs: duration(check, alerts.holdExpiring, ['alerts', 'holdExpiring'], DEFAULTS.holdExpiring),
    sinks,
    routes,
  };
}

function compileSink(check: Checker, name: string, raw: Obj): AlertSinkSpec | undefined {
  const path = ['alerts', 'sinks', name];
  const type = str(raw.type) as SinkType | undefined;
  if (type === undefined || NEEDS[type] === undefined) return undefined;
  for (const key of NEEDS[type])
    if (raw[key] === undefined)
      check.report('MW_POLICY_MISSING_KEY', { where: labelOf(path), key }, path, 'key');
  const url = typeof raw.url === 'string' ? raw.url : secretOf(raw.url);
  const problem = raw.url === undefined ? undefined : urlProblem(type, url, raw.url);
  if (problem !== undefined)
    check.report('MW_POLICY_BAD_VALUE', { where: labelOf([...path, 'url']), problem }, [...path, 'url']);
  const routingKey = secretOf(raw.routingKey);
  const secret = secretOf(raw.secret);
  const auth = authOf(raw.auth);
  return {
    name,
    type,
    ...(url === undefined ? {} : { url }),
    ...(routingKey === undefined ? {} : { routingKey }),
    ...(secret === undefined ? {} : { secret }),
    ...(auth === undefined ? {} : { auth }),
    timeoutMs: duration(check, raw.timeout, [...path, 'timeout'], DEFAULTS.timeout),
    retries: num(raw.retries, DEFAULTS.retries),
  };
}

/**
 * What is wrong with a sink's `url`, if anything. A secret never goes in the file (docs/policy.md):
 * a Slack webhook URL is one, and so is a URL's `user:password@` or query string (a token).
 */
function urlProblem(type: SinkType, url: SecretRef | string | undefined, raw: unknown): string | undefined {
  const env = 'or { env: NAME } to read it from the environment';
  if (url === undefined) return `is ${shown(raw)}: write an http(s) URL, ${env}`;
  if (typeof url !== 'string') return undefined;
  if (type === 'slack') return 'is written in the file: a Slack webhook URL is a secret; write { env: NAME }';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `is ${shown(raw)}: write an http(s) URL, ${env}`;
  }
  if (!['http:', 'https:'].includes(parsed.protocol)) return `is ${shown(raw)}: write an http(s) URL, ${env}`;
  if (parsed.username !== '' || parsed.password !== '' || parsed.search !== '')
    return `carries a credential (user:password@ or a query string) written in the file: use auth: { env: NAME }, ${env}`;
  return undefined;
}

function secretOf(value: unknown): SecretRef | undefined {
  return isObj(value) && typeof value.env === 'string' ? { env: value.env } : undefined;
}

function compileRoute(
  check: Checker,
  raw: Obj,
  path: (string | number)[],
  sinks: ReadonlyMap<string, AlertSinkSpec>,
  written: readonly [string, unknown][],
): AlertRoute {
  const id = str(raw.id) ?? '';
  const sink = str(raw.sink) ?? '';
  if (sink !== '' && !written.some(([name]) => name === sink)) {
    const known = [...sinks.keys()];
    const why = known.length === 0 ? 'alerts.sinks names no sink' : `the sinks are ${known.join(', ')}`;
    check.report(
      'MW_POLICY_UNKNOWN_REFERENCE',
      { who: `route ${id}`, verb: 'sends to sink', name: sink, why },
      [...path, 'sink'],
    );
  }
  let rate: AlertRoute['rate'];
  if (raw.rate !== undefined) {
    const parsed = parseRate(raw.rate);
    if (parsed === undefined)
      check.report('MW_POLICY_BAD_RATE', { where: labelOf([...path, 'rate']), value: shown(raw.rate) }, [
        ...path,
        'rate',
      ]);
    else
      rate = { intervalMs: parsed.perMs / parsed.count, burst: parsed.count, text: String(raw.rate).trim() };
  }
  const on = listOf(raw.on).filter((e): e is AlertEventName => typeof e === 'string');
  return {
    id,
    on,
    sink,
    severity: (str(raw.severity) ?? 'warning') as AlertSeverity,
    ...(rate === undefined ? {} : { rate }),
    dedupeMs: raw.dedupe === 0 ? 0 : duration(check, raw.dedupe, [...path, 'dedupe'], DEFAULTS.dedupe),
  };
}
