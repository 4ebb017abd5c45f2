import {
  type AgentDefinition,
  type AgentSpec,
  type AgentTransport,
  duplicateKeyAt,
  type JsonValue,
  type MeshwardenError,
  nonFiniteAt,
  nonFiniteText,
} from '../../runtime/index.js';
import { interopError } from '../errors.js';
import { type CallTimeout, circuitsOf, type ResilienceOptions, type Where } from '../resilience.js';
import type { JsonAnswer } from './call.js';
import { type AnswerContext, type MappedKind, mappedAgent } from './mapped.js';

export type MappedTransportOptions = ResilienceOptions & {
  /** Answers over this many bytes are refused (default 1 MiB). */
  readonly maxReplyBytes?: number;
};

/**
 * `http:` agents: any JSON-over-HTTP endpoint (an n8n webhook workflow answering with "Respond to
 * Webhook", an in-house service). The request mapping's value is the body (default: the envelope's
 * `data`); the answer's body is `text`, and `json` when it is JSON. See mapped.ts for the rest.
 */
export function createJsonHttpTransport(opts: MappedTransportOptions = {}): AgentTransport {
  const circuits = circuitsOf(opts);
  return {
    kind: 'http',
    connect(spec): AgentDefinition | MeshwardenError {
      const url = spec.http?.url ?? '';
      const kind: MappedKind = {
        method: spec.http?.method ?? 'POST',
        url,
        timeout: callTimeout(spec, 'http'),
        body: (mapped) => ({ ok: true, body: mapped }),
        read: readJsonAnswer,
      };
      return mappedAgent(spec, kind, circuits(spec.name, url), opts.maxReplyBytes ?? 1024 * 1024);
    },
  };
}

/** The call timeout the policy gives an agent, if any, and where it is written. */
export function callTimeout(spec: AgentSpec, kind: 'flowise' | 'http'): CallTimeout {
  const ms = spec[kind]?.timeoutMs;
  return { ...(ms === undefined ? {} : { ms }), setAt: `agents.${spec.name}.${kind}.timeout` };
}

const HTML = new Set(['text/html', 'application/xhtml+xml']);

/** A JSON media type: application/json, or any `+json` type (problem+json, ld+json…). */
export function isJsonType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}

/**
 * An endpoint's answer as a reply mapping reads it. An empty body (a 204) is nothing to emit. A body
 * said to be JSON must be usable JSON; an HTML page (a proxy's or a login page, answered 200) is
 * refused, not mapped; any other body is `text`, and also `json` when it is usable JSON.
 */
function readJsonAnswer(answer: JsonAnswer, where: Where): AnswerContext | undefined | MeshwardenError {
  if (answer.status === 204 || answer.text.trim() === '') return undefined;
  if (HTML.has(answer.type)) return badReply(where, `an HTML page (${answer.type})`);
  const read = readJson(answer.text);
  if ('problem' in read && isJsonType(answer.type))
    return badReply(where, `${read.problem}, though its content type is ${answer.type}`);
  return { text: answer.text, ...('json' in read ? { json: read.json } : {}), status: answer.status };
}

const MAY_OVERFLOW = /\d[eE][+-]?\d|\d{309}/;

/**
 * The JSON a text holds, or why it holds none usable: it does not parse, or it holds a number JSON
 * cannot hold (JSON.parse gives Infinity for `1e400`, which no ledger entry can record).
 */
export function readJson(text: string): { readonly json: JsonValue } | { readonly problem: string } {
  let json: JsonValue;
  try {
    json = JSON.parse(text) as JsonValue;
  } catch {
    return { problem: 'the body is not JSON' };
  }
  // Only a number with an exponent, or of 309 digits, can be out of range: most answers skip the walk.
  const found = MAY_OVERFLOW.test(text) ? nonFiniteAt(json) : undefined;
  if (found !== undefined) return { problem: `the body is not usable JSON: ${nonFiniteText(found)}` };
  // JSON.parse keeps a repeated name's last value and drops the first: an answer read one way here
  // and another by whoever else reads it is not taken.
  const twice = duplicateKeyAt(text);
  return twice === undefined
    ? { json }
    : { problem: `the body is not usable JSON: it gives the member ${twice} twice` };
}

export function parseJson(text: string): JsonValue | undefined {
  const read = readJson(text);
  return 'json' in read ? read.json : undefined;
}

/**
 * A 2xx answer that cannot be read is final: another try would run the flow (and its paid model
 * call) again for an answer that reads the same, since Flowise ignores `Idempotency-Key`.
 */
export function badReply(where: Where, problem: string, expected = 'JSON'): MeshwardenError {
  return interopError('MW_INTEROP_BAD_REPLY', { ...where, expected, problem }, { details: { final: true } });
}
