import type { Logger } from 'pino';
import type { Envelope, JsonValue } from '../envelope/index.js';
import { runtimeError } from './errors.js';
import type { RemoteEvent } from './transports.js';

/** Options of a message an agent emits; everything else (causation, hop, trace, digests) is filled in. */
export type EmitOptions = {
  /** The entity; defaults to the subject of the message being handled. */
  readonly subject?: string;
  /** Address one agent instead of publishing by type. */
  readonly target?: string;
  /** Model id, when an LLM produced this output. */
  readonly model?: string;
};

export type AgentContext = {
  /** Name and version of the agent handling the message. */
  readonly agent: string;
  readonly version: string;
  /** 1 on the first try, 2 on the first retry, … */
  readonly attempt: number;
  readonly log: Logger;
  /**
   * Aborted when this try times out (`MW_RUNTIME_TIMEOUT` is its reason): pass it to what the handler
   * waits on (a model call, `graph.invoke`, `fetch`) so a given-up try stops working too.
   */
  readonly signal: AbortSignal;
  /** Emits a message; it is gated once the handler returns. Returns the new message's id. */
  emit(type: string, data: JsonValue, opts?: EmitOptions): string;
  /** Requests a side effect; gated like a message, executed only when admitted. Returns the request's id. */
  effect(name: string, data: JsonValue, opts?: Pick<EmitOptions, 'subject'>): string;
  /**
   * For transports (HTTP, A2A): emits an event a remote agent made, keeping what it authored (its id
   * and signature among it). A type the policy lists as an effect is an effect request.
   */
  forward(event: RemoteEvent): string;
  /**
   * Says why this delivery emits nothing (a remote's answer that no reply mapping made a message
   * of), with `evidence` (that answer's text): kept, cut short, in its `delivered` entry, so `why`
   * can tell. Moot when the handler emits; the last note of the try counts.
   */
  note(text: string, evidence?: string): void;
};

export type AgentDefinition = {
  /** Handles one admitted message. Throwing makes the runtime retry, then dead-letter the message. */
  handle(msg: Envelope, ctx: AgentContext): void | Promise<void>;
  /**
   * How long one try may take, when not the runtime's (30 s): a remote agent whose policy gives its
   * calls a longer `timeout` needs the room, or the try would be given up before its call is.
   */
  readonly tryTimeoutMs?: number;
};

/** A message handed to an ingress, as an outside system would (a mail server, a web form). */
export type IngressMessage = {
  readonly type: string;
  readonly subject: string;
  readonly data: JsonValue;
  /**
   * The id of the effect request this message answers, when the outside system carried it back (a
   * webhook with the request id it was given). The gate links the message to that effect only if it
   * was requested for the same subject within `guards.loop.echoWindow`; otherwise the message is
   * quarantined (`loop.unverified_causation`).
   */
  readonly causationid?: string;
};

export type EffectContext = {
  readonly effect: string;
  readonly attempt: number;
  readonly log: Logger;
  /** Aborted when this try times out, as an agent's: pass it to the call that performs the effect. */
  readonly signal: AbortSignal;
  /**
   * Hands a message to an ingress as a new root message with no causal link, the way the outside
   * world answers (a sent e-mail arriving in the support inbox). Echo detection links it back.
   */
  ingest(ingress: string, message: IngressMessage): void;
  /**
   * Names what the outside world will send back about this effect (a commit id, a ticket number):
   * 6 to 200 characters, no white space, else it throws MW_RUNTIME_REPLY_TOKEN. Recorded with
   * `effect.executed` once the executor returns; from then on, within `guards.loop.echoWindow`, an
   * ingress message for the same subject whose data holds the token (as a string value or a word in
   * one) is linked to this effect. The last call wins.
   */
  replyToken(token: string): void;
};

export type EffectDefinition = {
  /** Performs the side effect. `request.id` is the idempotency key: a crash can make it run twice. */
  execute(request: Envelope, ctx: EffectContext): JsonValue | undefined | Promise<JsonValue | undefined>;
};

/** Declares an agent module's default export. */
export function defineAgent(definition: AgentDefinition): AgentDefinition {
  if (typeof definition?.handle !== 'function')
    throw new TypeError('defineAgent needs a handle(msg, ctx) function');
  return Object.freeze({ ...definition });
}

/** Declares an effect executor module's default export. */
export function defineEffect(definition: EffectDefinition): EffectDefinition {
  if (typeof definition?.execute !== 'function') {
    throw runtimeError('MW_RUNTIME_DEFINE', { what: 'defineEffect', method: 'execute(request, ctx)' });
  }
  return Object.freeze({ ...definition });
}
