import type {
  AgentDefinition,
  AgentTransport,
  Envelope,
  JsonValue,
  MeshwardenError,
} from '../../runtime/index.js';
import type { JsonAnswer } from '../json-http/call.js';
import type { AnswerContext, Body, MappedKind } from '../json-http/mapped.js';
import { mappedAgent } from '../json-http/mapped.js';
import {
  badReply,
  callTimeout,
  isJsonType,
  type MappedTransportOptions,
  parseJson,
  readJson,
} from '../json-http/transport.js';
import { circuitsOf, type Where } from '../resilience.js';

type JsonObject = { [key: string]: JsonValue };

/**
 * `flowise:` agents: a Flowise chatflow or agentflow, called through its prediction API
 * (`POST {url}/api/v1/prediction/{flow}`) with fetch rather than `flowise-sdk`, which makes an
 * extra request per call, takes no abort signal and reads answers without bound. The conversation
 * is the case: `chatId` and `overrideConfig.sessionId` are the envelope's `correlationid` unless
 * the request mapping sets them. See mapped.ts for the rest.
 */
export function createFlowiseTransport(opts: MappedTransportOptions = {}): AgentTransport {
  const circuits = circuitsOf(opts);
  return {
    kind: 'flowise',
    connect(spec): AgentDefinition | MeshwardenError {
      const base = (spec.flowise?.url ?? '').replace(/\/+$/, '');
      const url = `${base}/api/v1/prediction/${encodeURIComponent(spec.flowise?.flow ?? '')}`;
      const kind: MappedKind = {
        method: 'POST',
        url,
        timeout: callTimeout(spec, 'flowise'),
        body: predictionBody,
        read: readPrediction,
      };
      return mappedAgent(spec, kind, circuits(spec.name, url), opts.maxReplyBytes ?? 1024 * 1024);
    },
  };
}

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The prediction request: the mapped object, not streamed, in the case's conversation. It asks
 * something: a non-empty `question` (or a `form`, for an agentflow started by one).
 */
export function predictionBody(mapped: JsonValue, msg: Envelope): Body {
  if (!isObject(mapped))
    return { ok: false, pointer: '', problem: 'must give a JSON object (with `question`)' };
  // A member whose site gives nothing is left out: a typo (`data.txt`) would ask the flow nothing.
  const question = mapped.question;
  if (question === undefined && mapped.form === undefined)
    return {
      ok: false,
      pointer: '/question',
      problem:
        'gives nothing, and a flow must be asked a question (an agentflow started by a form takes `form` instead): check the names it reads',
    };
  if (question !== undefined && typeof question !== 'string')
    return {
      ok: false,
      pointer: '/question',
      problem: 'must give text (write $string(...) around a number)',
    };
  if (typeof question === 'string' && question.trim() === '')
    return { ok: false, pointer: '/question', problem: 'gives an empty question' };
  const override = mapped.overrideConfig ?? {};
  if (!isObject(override))
    return { ok: false, pointer: '/overrideConfig', problem: 'must give a JSON object' };
  return {
    ok: true,
    body: {
      ...mapped,
      streaming: false,
      chatId: mapped.chatId ?? msg.correlationid,
      overrideConfig: { ...override, sessionId: override.sessionId ?? msg.correlationid },
    },
  };
}

/**
 * A prediction response as a reply mapping reads it: `answer` the whole, `text` its text, `json` its
 * `json` (a flow with a structured output), else its text when that is a JSON object or array. It
 * must be a JSON object; an HTML page or garbage is MW_INTEROP_BAD_REPLY. An empty body is nothing.
 */
export function readPrediction(
  answer: JsonAnswer,
  where: Where,
): AnswerContext | undefined | MeshwardenError {
  if (answer.status === 204 || answer.text.trim() === '') return undefined;
  const expected = 'a Flowise prediction';
  if (!isJsonType(answer.type) && answer.type !== '')
    return badReply(where, `the content type is ${answer.type}, not application/json`, expected);
  const read = readJson(answer.text);
  if ('problem' in read) return badReply(where, read.problem, expected);
  const parsed = read.json;
  if (!isObject(parsed)) return badReply(where, 'the body is not a JSON object', expected);
  // A flow's text is a string, except where a Custom Function returned another value (a number,
  // say, in Flowise 3.1.4): then its JSON text.
  const raw = parsed.text;
  const text = typeof raw === 'string' ? raw : raw === undefined || raw === null ? undefined : textOf(raw);
  if (text instanceof Error) return badReply(where, 'its text is nested too deep to read', expected);
  const fromText = text === undefined ? undefined : parseJson(text);
  const json = parsed.json ?? (fromText !== null && typeof fromText === 'object' ? fromText : undefined);
  return {
    answer: parsed,
    status: answer.status,
    ...(text === undefined ? {} : { text }),
    ...(json === undefined ? {} : { json }),
  };
}

/** A non-string `text` as its JSON text; JSON.stringify runs out of stack on one nested thousands deep. */
function textOf(raw: JsonValue): string | Error {
  try {
    return JSON.stringify(raw);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
