import { type Message, type Part, type Task, TaskState } from '@a2a-js/sdk';
import {
  type JsonValue,
  type MeshwardenError,
  REMOTE_ATTRIBUTES,
  type RemoteEvent,
} from '../../runtime/index.js';
import { a2aError } from './errors.js';

export type ReplyContext = {
  readonly who: string;
  readonly url: string;
  /** The types the agent's policy lets it emit: with exactly one, parts need not name it. */
  readonly emits: readonly string[];
};

export type ReplyOutcome =
  | { readonly ok: true; readonly events: RemoteEvent[] }
  /** `waiting`: the task the agent paused for input, which the next message of the case continues. */
  | { readonly ok: false; readonly error: MeshwardenError; readonly waiting?: string };

/** Envelope attributes a part's metadata may carry, as an HTTP agent's event may. */
const ATTRIBUTES = REMOTE_ATTRIBUTES;

/**
 * The events of an agent's answer to a blocking SendMessage. A Message gives one event per part; a
 * completed Task one per part of its artifacts (or, with none, of its final status message). A task
 * that failed, was rejected or canceled is MW_INTEROP_A2A_FAILED; one paused for input or
 * authentication is MW_INTEROP_A2A_INPUT_REQUIRED; one in no known state is a bad reply (the
 * transport polls a task still running until it is not). Nothing is forwarded unless every part converts.
 */
export function readReply(result: Message | Task, c: ReplyContext): ReplyOutcome {
  if ('parts' in result) {
    if (result.messageId === '') return bad(c, '/messageId', 'is missing');
    return partsToEvents([['', result.parts, result.metadata]], c);
  }
  if (result.id === '') return bad(c, '/id', 'is missing: the reply is neither a message nor a task');
  const state = result.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
  const said = textOf(result.status?.message);
  switch (state) {
    case TaskState.TASK_STATE_COMPLETED:
      if (result.artifacts.length === 0 && result.status?.message !== undefined) {
        const m = result.status.message;
        return partsToEvents([['/status/message', m.parts, m.metadata]], c);
      }
      return partsToEvents(
        result.artifacts.map((a, i) => [`/artifacts/${i}`, a.parts, a.metadata] as const),
        c,
      );
    case TaskState.TASK_STATE_FAILED:
    case TaskState.TASK_STATE_REJECTED:
    case TaskState.TASK_STATE_CANCELED: {
      const problem = `task ${result.id} ended ${stateName(state)}${said === '' ? '' : `: ${said}`}`;
      return { ok: false, error: a2aError('MW_INTEROP_A2A_FAILED', { who: c.who, url: c.url, problem }) };
    }
    case TaskState.TASK_STATE_INPUT_REQUIRED:
    case TaskState.TASK_STATE_AUTH_REQUIRED: {
      const params = {
        who: c.who,
        url: c.url,
        task: result.id,
        state: stateName(state),
        question: said || '(no message)',
      };
      return { ok: false, error: a2aError('MW_INTEROP_A2A_INPUT_REQUIRED', params), waiting: result.id };
    }
    default:
      return bad(c, '/status/state', `is ${stateName(state)}, but the call waits for a final state`);
  }
}

type Source = readonly [pointer: string, parts: readonly Part[], metadata: Metadata];
type Metadata = { readonly [key: string]: unknown } | undefined;

function partsToEvents(sources: readonly Source[], c: ReplyContext): ReplyOutcome {
  const events: RemoteEvent[] = [];
  for (const [at, parts, outer] of sources) {
    for (const [i, part] of parts.entries()) {
      const event = toEvent(part, `${at}/parts/${i}`, outer, c);
      if ('ok' in event) return event;
      events.push(event);
    }
  }
  return { ok: true, events };
}

/**
 * One part → one event. Data parts carry their value, text parts `{ text }`, url parts `{ url,
 * mediaType, filename }`; inline bytes are refused (the ledger holds JSON). The type is the part's
 * `metadata.type`, else its artifact's or message's, else the agent's only emitted type.
 */
function toEvent(part: Part, at: string, outer: Metadata, c: ReplyContext): RemoteEvent | ReplyOutcome {
  const content = part.content;
  let data: JsonValue;
  if (content?.$case === 'data') data = (content.value ?? null) as JsonValue;
  else if (content?.$case === 'text') data = { text: content.value };
  else if (content?.$case === 'url') {
    data = {
      url: content.value,
      ...(part.mediaType === '' ? {} : { mediaType: part.mediaType }),
      ...(part.filename === '' ? {} : { filename: part.filename }),
    };
  } else if (content?.$case === 'raw') return bad(c, `${at}/raw`, 'is inline bytes; send a url or data part');
  else return bad(c, at, 'has no text, data or url');
  const meta = part.metadata ?? {};
  const type = meta.type ?? outer?.type ?? (c.emits.length === 1 ? c.emits[0] : undefined);
  if (typeof type !== 'string' || type === '') {
    const why =
      type === undefined
        ? `is missing, and ${c.who} may emit ${c.emits.length} types, so each part must name one`
        : 'is not a non-empty string';
    return bad(c, `${at}/metadata/type`, why);
  }
  const event: Record<string, unknown> = { type, data };
  const subject = meta.subject ?? outer?.subject;
  if (subject !== undefined) event.subject = subject;
  for (const key of ATTRIBUTES) {
    if (key !== 'subject' && meta[key] !== undefined) event[key] = meta[key];
    if (event[key] !== undefined && typeof event[key] !== 'string')
      return bad(c, `${at}/metadata/${key}`, 'is not a string');
  }
  return event as RemoteEvent;
}

function textOf(message: Message | undefined): string {
  const texts = (message?.parts ?? []).flatMap((p) => (p.content?.$case === 'text' ? [p.content.value] : []));
  return texts.join(' ').trim();
}

/** `TASK_STATE_INPUT_REQUIRED` → `input-required`, as the A2A docs write states. */
function stateName(state: TaskState): string {
  const name = TaskState[state] ?? 'TASK_STATE_UNRECOGNIZED';
  return name
    .replace(/^TASK_STATE_/, '')
    .toLowerCase()
    .replaceAll('_', '-');
}

function bad(c: ReplyContext, pointer: string, problem: string): ReplyOutcome {
  return {
    ok: false,
    error: a2aError(
      'MW_INTEROP_A2A_BAD_REPLY',
      { who: c.who, url: c.url, problem: `${pointer || '/'} ${problem}` },
      { location: { pointer } },
    ),
  };
}
