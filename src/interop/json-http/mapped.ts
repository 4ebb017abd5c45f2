import {
  type AgentDefinition,
  type AgentSpec,
  compileMapping,
  type Envelope,
  holds,
  isMeshwardenError,
  type JsonValue,
  MAX_JSON_DEPTH,
  type Mapping,
  type MeshwardenError,
  missingMember,
  quotedText,
  REPLY_NAMES,
  REQUEST_NAMES,
  type RemoteEvent,
  repliesOfAgent,
  requestOf,
  tooDeepAt,
} from '../../runtime/index.js';
import { credentialOf } from '../auth.js';
import { interopError } from '../errors.js';
import type { CallTimeout, Resilience, Where } from '../resilience.js';
import { callJson, type JsonAnswer } from './call.js';

/** An answer as a reply mapping reads it (Flowise adds `answer`, the whole prediction response). */
export type AnswerContext = {
  readonly text?: string;
  readonly json?: JsonValue;
  readonly status: number;
  readonly answer?: JsonValue;
};

/** What a reply mapping reads: the answer, and the envelope handled (`message`). */
type ReplyContext = AnswerContext & { readonly message: Envelope };

/** What tells a Flowise agent from a plain JSON one: where it is, what it sends, how it reads answers. */
export type MappedKind = {
  readonly method: 'POST' | 'PUT' | 'PATCH';
  readonly url: string;
  /** The call's timeout from the policy (absent: the transport's), and where the policy sets it. */
  readonly timeout: CallTimeout;
  /** The body as sent, from the mapped one (Flowise adds its own members), or why it cannot be sent. */
  body(mapped: JsonValue, msg: Envelope): Body;
  /** The reply context of an answer (undefined: nothing to emit), or why it cannot be read. */
  read(answer: JsonAnswer, where: Where): AnswerContext | undefined | MeshwardenError;
};

/** The body to send, or where (a pointer under `/request`) and why the mapped one cannot be sent. */
export type Body =
  | { readonly ok: true; readonly body: JsonValue }
  | { readonly ok: false; readonly pointer: string; readonly problem: string };

type Template = { readonly mapping: Mapping; readonly at: string };
type CompiledReply = {
  readonly type: string;
  readonly data: Template;
  /** Members of `data` its contract requires (pointers into it): giving nothing there is a failure. */
  readonly required?: readonly string[];
  readonly when?: Template;
  readonly subject?: Template;
};

/** How much longer than its call a try may take, when the policy sets the call's timeout. */
const TRY_MARGIN_MS = 5_000;

/**
 * The handler of a `flowise:` or `http:` agent. Its mappings are compiled when it connects (the
 * policy has checked them already). Per admitted message: the request mapping makes the body (a
 * failure is MW_INTEROP_MAPPING, dead-lettered at once, never sent); the call runs under
 * the agent's resilience; each reply mapping whose `when` holds makes one emission. A reply mapping
 * that fails still forwards the emission, carrying the answer as it came (`{ text, json }`) and the
 * fact `unmapped`, so the gate quarantines it naming the pointer and a pilot sees it.
 */
export function mappedAgent(
  spec: AgentSpec,
  kind: MappedKind,
  resilience: Resilience,
  limit: number,
): AgentDefinition | MeshwardenError {
  const where: Where = { who: `agent ${spec.name}`, url: kind.url };
  const credential = credentialOf(spec.auth, where.who);
  if (isMeshwardenError(credential)) return credential;
  // As written, else the kind's documented default (the policy owns both).
  const request = compile(requestOf(spec) ?? null, '/request', where);
  if (isMeshwardenError(request)) return request;
  const replies = compileReplies(spec, where);
  if (isMeshwardenError(replies)) return replies;

  const bodyOf = async (msg: Envelope): Promise<JsonValue> => {
    const result = await request.mapping.evaluate(msg);
    if (!result.ok) throw mappingError(where, `${request.at}${result.pointer}`, result.problem);
    if (result.value === undefined) throw mappingError(where, request.at, 'gives nothing');
    const body = kind.body(result.value, msg);
    if (!body.ok) throw mappingError(where, `/request${body.pointer}`, body.problem);
    return body.body;
  };

  return {
    // The try outlives its call by a margin (mapping the request and the replies), so the call's own
    // timeout, which names where to change it, is the one that fires.
    ...(kind.timeout.ms === undefined ? {} : { tryTimeoutMs: kind.timeout.ms + TRY_MARGIN_MS }),
    async handle(msg, ctx) {
      const body = await bodyOf(msg);
      const read = await resilience.execute(
        async (signal) => {
          // The try's own signal too: a try the runtime gave up must not call on beside its retry.
          const answer = await callJson(
            { method: kind.method, url: kind.url, body, msg, credential, limit, where },
            AbortSignal.any([signal, ctx.signal]),
          );
          const context = kind.read(answer, where);
          if (isMeshwardenError(context)) throw context;
          return context;
        },
        where,
        kind.timeout,
      );
      // An answer that makes no message is said in the delivery's ledger entry, never dropped unseen.
      if (read === undefined) return ctx.note('it answered with an empty body');
      const context: ReplyContext = { ...read, message: msg };
      const events = await emissions(replies, context, ctx.signal);
      // Given up while mapping: the retry answers instead; these would be refused as late.
      ctx.signal.throwIfAborted();
      for (const event of events) ctx.forward(event);
      if (events.length === 0 && replies.length > 0)
        ctx.note(`no reply's when held for its answer (HTTP ${read.status})`, evidenceOf(read));
    },
  };
}

/** An answer as evidence: its text, else its JSON's (the ledger keeps it cut short). */
function evidenceOf(answer: AnswerContext): string {
  return answer.text ?? JSON.stringify(answer.json) ?? '';
}

/** The events of one answer, in the order of the reply mappings. */
async function emissions(
  replies: readonly CompiledReply[],
  context: ReplyContext,
  signal: AbortSignal,
): Promise<RemoteEvent[]> {
  const events: RemoteEvent[] = [];
  for (const reply of replies) {
    // A try given up stops its mapping work too.
    signal.throwIfAborted();
    if (reply.when !== undefined) {
      const when = await reply.when.mapping.evaluate(context);
      if (!when.ok) {
        events.push(unmapped(reply.type, context, `${reply.when.at}${when.pointer}`, when.problem));
        continue;
      }
      if (!holds(when.value)) continue;
    }
    const data = await reply.data.mapping.evaluate(context);
    if (!data.ok || data.value === undefined) {
      const [pointer, problem] = data.ok ? ['', 'gives nothing'] : [data.pointer, data.problem];
      events.push(unmapped(reply.type, context, `${reply.data.at}${pointer}`, problem));
      continue;
    }
    // Left out, a required member would be quarantined as `data` without the answer it came from.
    const missing = missingMember(data.value, reply.required);
    if (missing !== undefined) {
      const problem = `it gives nothing, and the contract of ${reply.type} requires it`;
      events.push(unmapped(reply.type, context, `${reply.data.at}${missing}`, problem));
      continue;
    }
    let subject: string | undefined;
    if (reply.subject !== undefined) {
      const s = await reply.subject.mapping.evaluate(context);
      if (!s.ok || typeof s.value !== 'string' || s.value === '') {
        const [pointer, problem] = s.ok ? ['', 'is not a non-empty string'] : [s.pointer, s.problem];
        events.push(unmapped(reply.type, context, `${reply.subject.at}${pointer}`, problem));
        continue;
      }
      subject = s.value;
    }
    events.push({ type: reply.type, data: data.value, ...(subject === undefined ? {} : { subject }) });
  }
  return events;
}

/** The evidence's `json` is level 3 of the envelope (envelope, `data`, `json`): it may nest this deep. */
const EVIDENCE_DEPTH = MAX_JSON_DEPTH - 2;
/** How much of the answer's text the evidence keeps when its JSON is too deep to keep. */
const EVIDENCE_CHARS = 4096;

/**
 * An emission whose mapping failed: the answer as it came, for a pilot to review. JSON nested too
 * deep for a message (`[[[[…` 10,000 levels) is not kept: the gate would refuse the emission
 * without reading it, and the record would hold no answer a person can read. Its text, cut short
 * and on one line, is kept instead.
 */
function unmapped(type: string, context: ReplyContext, pointer: string, problem: string): RemoteEvent {
  const data: { [key: string]: JsonValue } = {};
  const deep = context.json !== undefined && tooDeepAt(context.json, EVIDENCE_DEPTH) !== undefined;
  if (context.text !== undefined) data.text = deep ? quotedText(context.text, EVIDENCE_CHARS) : context.text;
  if (context.json !== undefined && !deep) data.json = context.json;
  return { type, data, unmapped: { pointer, problem } };
}

/**
 * The reply mappings, with their pointers into the policy as written (`/reply/data/...` for one
 * mapping, `/reply/<i>/data/...` in a list, even a list of one). Without `reply`, an agent that
 * emits exactly one type emits the answer's JSON as it is (`{ type, data: '{{ json }}' }`); one
 * that emits none emits nothing.
 */
function compileReplies(spec: AgentSpec, where: Where): CompiledReply[] | MeshwardenError {
  const items = repliesOfAgent(spec);
  const compiled: CompiledReply[] = [];
  for (const item of items) {
    const { at } = item;
    const data = compile(item.data, `${at}/data`, where);
    if (isMeshwardenError(data)) return data;
    const when = item.when === undefined ? undefined : compile(item.when, `${at}/when`, where, true);
    if (isMeshwardenError(when)) return when;
    const subject = item.subject === undefined ? undefined : compile(item.subject, `${at}/subject`, where);
    if (isMeshwardenError(subject)) return subject;
    compiled.push({
      type: item.type,
      data,
      ...(item.required === undefined ? {} : { required: item.required }),
      ...(when === undefined ? {} : { when }),
      ...(subject === undefined ? {} : { subject }),
    });
  }
  return compiled;
}

/** Compiles one template of the agent's policy entry at `at`; a `when` may give nothing (false). */
function compile(template: unknown, at: string, where: Where, optional = false): Template | MeshwardenError {
  const names = at === '/request' ? REQUEST_NAMES : REPLY_NAMES;
  const compiled = compileMapping(template, names, { optional });
  if ('issues' in compiled) {
    const first = compiled.issues[0];
    return mappingError(where, `${at}${first?.pointer ?? ''}`, first?.problem ?? 'does not compile');
  }
  return { mapping: compiled, at };
}

/** A mapping fails the same way on every try: final, so the message is dead-lettered at once. */
function mappingError(where: Where, pointer: string, problem: string): MeshwardenError {
  return interopError(
    'MW_INTEROP_MAPPING',
    { who: where.who, pointer, problem },
    { location: { pointer }, details: { final: true } },
  );
}
