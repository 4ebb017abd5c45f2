/**
 * Agents called with mapped requests, Flowise flows (`flowise:`) and JSON endpoints (`http:`): their
 * transport settings, and their `request` and `reply` templates checked where they are written.
 */
import type { Contract } from '../contracts/index.js';
import { parsePointer, pointerOf } from '../contracts/index.js';
import type { JsonValue } from '../envelope/index.js';
import {
  type Checker,
  duration,
  entriesOf,
  isObj,
  labelOf,
  listOf,
  type Obj,
  pathIn,
  shown,
  str,
} from './check.js';
import { checkQuestion } from './flowise-question.js';
import { compileMapping, isTemplated, REPLY_NAMES, REQUEST_NAMES } from './mapping.js';
import { strayClosing } from './mapping-scan.js';
import type { Path } from './source.js';
import { type AgentSpec, HTTP_METHODS, type HttpMethod, type ReplyMapping } from './types.js';

type Mapped = Pick<AgentSpec, 'flowise' | 'http' | 'request' | 'reply'>;

/** The flowise/http settings and mappings of one agent, each mistake reported where it is written. */
export function compileMappedAgent(check: Checker, name: string, spec: Obj): Mapped {
  const at: Path = ['agents', name];
  const flowise = isObj(spec.flowise) ? flowiseOf(check, spec.flowise, [...at, 'flowise']) : undefined;
  const http = isObj(spec.http) ? httpOf(check, spec.http, [...at, 'http']) : undefined;
  const mapped = spec.flowise !== undefined || spec.http !== undefined;
  for (const key of ['request', 'reply'] as const) {
    if (spec[key] === undefined || mapped) continue;
    const transport = (['module', 'url', 'a2a'] as const).find((t) => spec[t] !== undefined);
    // No transport at all is its own mistake (MW_POLICY_AGENT_TRANSPORT).
    if (transport === undefined) continue;
    check.report('MW_POLICY_MAPPING_TRANSPORT', { agent: name, key, transport }, [...at, key], 'key');
  }
  if (spec.request !== undefined) checkTemplate(check, spec.request, [...at, 'request'], REQUEST_NAMES);
  if (spec.flowise !== undefined && isObj(spec.request))
    checkQuestion(check, spec.request, [...at, 'request']);
  const reply = repliesOf(spec.reply);
  reply.forEach(({ item, path }) => {
    checkReply(check, name, spec, item, path);
  });
  if (mapped) checkDefaultReply(check, name, spec);
  // The warden makes a flowise or http agent's envelopes from its answers: there is nothing it signs.
  if (mapped && spec.publicKey !== undefined)
    check.report(
      'MW_POLICY_BAD_VALUE',
      {
        where: labelOf([...at, 'publicKey']),
        problem:
          'is for an agent that signs its own envelopes; a flowise or http agent answers with plain JSON, which the warden makes into envelopes, so it signs nothing: remove publicKey',
      },
      [...at, 'publicKey'],
      'key',
    );
  // `flowise: { url, flow, auth }` reads as naturally as `auth:` beside it; one of them, not both.
  const inner = (['flowise', 'http'] as const).find((k) => isObj(spec[k]) && spec[k].auth !== undefined);
  if (inner !== undefined && spec.auth !== undefined)
    check.report(
      'MW_POLICY_BAD_VALUE',
      {
        where: labelOf([...at, inner, 'auth']),
        problem: `repeats agents.${name}.auth: write the credential once`,
      },
      [...at, inner, 'auth'],
      'key',
    );
  return {
    ...(flowise === undefined ? {} : { flowise }),
    ...(http === undefined ? {} : { http }),
    ...(spec.request === undefined ? {} : { request: spec.request as JsonValue }),
    ...(spec.reply === undefined ? {} : { reply: reply.map(({ item, path }) => replyOf(item, path)) }),
  };
}

/** The `auth` written inside `flowise:` or `http:`, as written (graph.ts reads it like `auth:`). */
export function innerAuth(spec: Obj): unknown {
  for (const key of ['flowise', 'http'] as const) {
    const transport = spec[key];
    if (isObj(transport) && transport.auth !== undefined) return transport.auth;
  }
  return undefined;
}

function flowiseOf(check: Checker, spec: Obj, at: Path): AgentSpec['flowise'] {
  const url = str(spec.url);
  const flow = str(spec.flow);
  if (
    url !== undefined &&
    checkHttpUrl(check, url, [...at, 'url']) &&
    /\/api\/v1(\/|$)/.test(new URL(url).pathname)
  )
    // The warden adds /api/v1/prediction/<flow>; Flowise answers the doubled path 401, like a wrong key.
    check.report(
      'MW_POLICY_BAD_VALUE',
      {
        where: labelOf([...at, 'url']),
        problem: `is ${shown(url)}: write the Flowise server's base URL, without /api/v1 (the warden adds /api/v1/prediction/<flow>)`,
      },
      [...at, 'url'],
    );
  const timeoutMs = callTimeout(check, spec.timeout, [...at, 'timeout']);
  return url === undefined || flow === undefined ? undefined : { url, flow, ...timeoutMs };
}

function httpOf(check: Checker, spec: Obj, at: Path): AgentSpec['http'] {
  const url = str(spec.url);
  if (url !== undefined) checkHttpUrl(check, url, [...at, 'url']);
  const method = (HTTP_METHODS as readonly unknown[]).includes(spec.method)
    ? (spec.method as HttpMethod)
    : 'POST';
  const timeoutMs = callTimeout(check, spec.timeout, [...at, 'timeout']);
  return url === undefined ? undefined : { url, method, ...timeoutMs };
}

/** The longest `timeout` a call may have: a try holds a handler slot the whole time. */
const MAX_CALL_TIMEOUT_MS = 3_600_000;

/** A call's `timeout` (a duration, at most 1h), as `{ timeoutMs }`; absent: the transport's default. */
function callTimeout(check: Checker, value: unknown, at: Path): { timeoutMs?: number } {
  if (value === undefined) return {};
  const ms = duration(check, value, at);
  if (ms === 0) return {};
  if (ms > MAX_CALL_TIMEOUT_MS) {
    check.report(
      'MW_POLICY_BAD_VALUE',
      {
        where: labelOf(at),
        problem: `is ${shown(value)}: a call may wait at most 1h (a try holds a handler slot the whole time)`,
      },
      at,
    );
    return {};
  }
  return { timeoutMs: ms };
}

/**
 * An http(s) URL without `user:password@`: fetch refuses one, and the URL is in every error and
 * ledger entry about the agent, where a secret must never be (auth: { env } carries it). True if so.
 */
function checkHttpUrl(check: Checker, url: string, at: Path): boolean {
  const parsed = /^https?:\/\//i.test(url) && URL.canParse(url) ? new URL(url) : undefined;
  const problem =
    parsed === undefined
      ? `is ${shown(url)}: write an http or https URL`
      : parsed.username !== '' || parsed.password !== ''
        ? 'carries a credential (user:password@), which would be in every error and ledger entry about the agent: use auth: { env: NAME }'
        : undefined;
  if (problem !== undefined) check.report('MW_POLICY_BAD_VALUE', { where: labelOf(at), problem }, at);
  return problem === undefined;
}

/** The reply items with their paths: `reply:` is one mapping or a list of them. */
function repliesOf(value: unknown): { item: Obj; path: Path }[] {
  if (isObj(value)) return [{ item: value, path: [] }];
  const out: { item: Obj; path: Path }[] = [];
  listOf(value).forEach((item, i) => {
    if (isObj(item)) out.push({ item, path: [i] });
  });
  return out;
}

function replyOf(item: Obj, path: Path): ReplyMapping {
  const when = str(item.when);
  const subject = str(item.subject);
  return {
    at: ['', 'reply', ...path].join('/'),
    type: str(item.type) ?? '',
    data: (item.data ?? null) as JsonValue,
    ...(when === undefined ? {} : { when }),
    ...(subject === undefined ? {} : { subject }),
  };
}

function checkReply(check: Checker, agent: string, spec: Obj, item: Obj, rel: Path) {
  const at: Path = ['agents', agent, 'reply', ...rel];
  const type = str(item.type);
  const emits = listOf(spec.emits).filter((t): t is string => typeof t === 'string');
  if (type !== undefined && emits.length > 0 && !emits.includes(type))
    check.report(
      'MW_POLICY_REPLY_TYPE',
      { where: labelOf([...at, 'type']), type, agent, emits: emits.join(', ') },
      [...at, 'type'],
    );
  if (item.data !== undefined) checkTemplate(check, item.data, [...at, 'data'], REPLY_NAMES);
  for (const key of ['when', 'subject'] as const) {
    if (typeof item[key] === 'string') checkTemplate(check, item[key], [...at, key], REPLY_NAMES);
    // Not a string (the schema says so): say why, when it is an unquoted {{ }}.
    else unquoted(check, item[key], [...at, key]);
  }
}

/** No reply written: the answer becomes the one emitted type; with several, the file must say which. */
function checkDefaultReply(check: Checker, agent: string, spec: Obj) {
  const emits = listOf(spec.emits).filter((t): t is string => typeof t === 'string');
  if (spec.reply !== undefined && emits.length === 0)
    check.report('MW_POLICY_REPLY_UNUSED', { agent }, ['agents', agent, 'reply'], 'key');
  if (spec.reply === undefined && emits.length > 1)
    check.report(
      'MW_POLICY_REPLY_NEEDED',
      { agent, emits: emits.join(', ') },
      ['agents', agent, 'emits'],
      'key',
    );
}

/** Compiles a template as the transport will; each issue at its string, inside it when it has an offset. */
function checkTemplate(check: Checker, written: unknown, at: Path, names: readonly string[]) {
  // Each unquoted {{ }} is said once; the rest of the template is still checked, around it.
  const template = unquoted(check, written, at) ? withoutUnquoted(written) : written;
  // The example site reads a name this side has: the answer's `json`, or the message's `data`.
  strayClosings(check, template, at, names.includes('json') ? 'json.label' : 'data.text');
  const compiled = compileMapping(template, names);
  if (!('issues' in compiled)) return;
  for (const issue of compiled.issues) {
    const path = [...at, ...pathIn(template, parsePointer(issue.pointer))];
    check.reportIn('MW_POLICY_MAPPING', { where: labelOf(path), problem: issue.problem }, path, issue.offset);
  }
}

/**
 * The literal parts of each reply's `data` object against the contract of its type: a literal that
 * does not validate, a key the contract forbids, a required key the template does not write.
 * Template values are checked by the gate on each reply.
 */
export function checkReplyContracts(check: Checker, doc: Obj, contracts: ReadonlyMap<string, Contract>) {
  for (const [agent, spec] of entriesOf(doc.agents)) {
    if (!isObj(spec) || (spec.flowise === undefined && spec.http === undefined)) continue;
    for (const { item, path } of repliesOf(spec.reply)) {
      const type = str(item.type);
      const contract = type === undefined ? undefined : contracts.get(type);
      // An unquoted {{ }} is reported by the mapping check; judged as a map here, it would mislead.
      if (contract === undefined || !isObj(item.data) || unquotedSite(item.data) !== undefined) continue;
      checkFit(check, contract, item.data, ['agents', agent, 'reply', ...path, 'data']);
    }
  }
}

function checkFit(check: Checker, contract: Contract, data: Obj, at: Path) {
  // Templated members are there with a stand-in, so that only their key is judged, not their value.
  const templated = new Set(Object.keys(data).filter((k) => isTemplated(data[k]) || holdsUnquoted(data[k])));
  const shape: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) shape[key] = templated.has(key) ? null : value;
  const report = (path: Path, problem: string, on: 'key' | 'value' = 'value') =>
    check.report(
      'MW_POLICY_REPLY_CONTRACT',
      { where: labelOf(path), type: contract.type, problem },
      path,
      on,
    );
  for (const issue of contract.validate(shape)) {
    const [first] = issue.path;
    if (first !== undefined) {
      if (!templated.has(String(first))) report([...at, ...issue.path], issue.message);
    } else if (issue.keyword === 'additionalProperties' || issue.keyword === 'unevaluatedProperties') {
      const key = String(issue.params?.additionalProperty ?? issue.params?.unevaluatedProperty);
      report([...at, key], `the contract has no property "${key}"`, 'key');
    } else if (issue.keyword === 'required') {
      const key = String(issue.params?.missingProperty);
      if (!(key in data)) report(at, `it needs the property "${key}", which this data does not write`, 'key');
    }
  }
}

/** The request templates sent when the file writes none (docs/policy.md). */
export const DEFAULT_REQUESTS = {
  flowise: { question: '{{ $type(data) = "string" ? data : $string(data) }}' },
  http: '{{ data }}',
} as const satisfies Readonly<Record<'flowise' | 'http', JsonValue>>;

/** The request template of a flowise or http agent: as written, else its transport's default. */
export function requestOf(agent: AgentSpec): JsonValue | undefined {
  if (agent.request !== undefined) return agent.request;
  if (agent.flowise !== undefined) return DEFAULT_REQUESTS.flowise;
  return agent.http === undefined ? undefined : DEFAULT_REQUESTS.http;
}

/**
 * The reply mappings of a flowise or http agent: as written, else its one emitted type with the
 * answer's JSON; none when it emits nothing (its answers are recorded as delivered).
 */
export function repliesOfAgent(agent: AgentSpec): readonly ReplyMapping[] {
  if (agent.reply !== undefined) return agent.reply;
  const [only] = agent.emits;
  return agent.emits.length === 1 && only !== undefined
    ? [{ at: '/reply', type: only, data: '{{ json }}' }]
    : [];
}

/**
 * `label: {{ json.label }}` unquoted is a YAML flow map whose key is another map, not text: YAML
 * reads it as `{ "{ json.label }": null }`. The key when `value` is one, else undefined.
 */
function unquotedSite(value: unknown): string | undefined {
  if (!isObj(value)) return undefined;
  const keys = Object.keys(value);
  const [key] = keys;
  return keys.length === 1 && key !== undefined && value[key] === null && /^\{[\s\S]*\}$/.test(key)
    ? key
    : undefined;
}

/** Whether `value` is or holds an unquoted `{{ }}`, which the mapping check reports. */
function holdsUnquoted(value: unknown): boolean {
  if (unquotedSite(value) !== undefined) return true;
  if (Array.isArray(value)) return value.some(holdsUnquoted);
  return isObj(value) && Object.values(value).some(holdsUnquoted);
}

/** `value` with each unquoted `{{ }}` (already reported) made an empty text, so the rest compiles. */
function withoutUnquoted(value: unknown): unknown {
  if (unquotedSite(value) !== undefined) return '';
  if (Array.isArray(value)) return value.map(withoutUnquoted);
  if (!isObj(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutUnquoted(v)]));
}

/** Says to quote each unquoted `{{ }}` in `value`; true when there was one. */
function unquoted(check: Checker, value: unknown, at: Path): boolean {
  if (Array.isArray(value)) return value.map((v, i) => unquoted(check, v, [...at, i])).some(Boolean);
  if (!isObj(value)) return false;
  const key = unquotedSite(value);
  if (key !== undefined) {
    const problem = `YAML reads {${key}} as a map, not as text: quote a value that starts with {{, like '{${key}}'`;
    check.report('MW_POLICY_MAPPING', { where: labelOf(at), problem }, at);
    // The schema's "must be a string, not a map" at the same place says less: this replaces it.
    const pointer = pointerOf(at);
    for (let i = check.issues.length - 1; i >= 0; i--) {
      const issue = check.issues[i]!;
      if (issue.code === 'MW_POLICY_TYPE' && issue.pointer === pointer) check.issues.splice(i, 1);
    }
    return true;
  }
  return Object.entries(value)
    .map(([k, v]) => unquoted(check, v, [...at, k]))
    .some(Boolean);
}

/** Warns of each string with a `}}` that closes no `{{` (mapping-scan.ts). */
function strayClosings(check: Checker, value: unknown, at: Path, example: string): void {
  if (typeof value === 'string') {
    const offset = strayClosing(value);
    if (offset !== undefined)
      check.reportIn('MW_POLICY_MAPPING_BRACES', { where: labelOf(at), example }, at, offset, true);
  } else if (Array.isArray(value)) value.forEach((v, i) => void strayClosings(check, v, [...at, i], example));
  else if (isObj(value))
    for (const [k, v] of Object.entries(value)) strayClosings(check, v, [...at, k], example);
}
