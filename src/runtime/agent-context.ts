import type { Logger } from 'pino';
import type { Envelope, GatedKind, JsonValue } from '../envelope/index.js';
import type { AgentSpec } from '../policy/index.js';
import type { AgentRunnerDeps, Outgoing } from './agent-runner.js';
import { signalOf, type TryAbort } from './attempts.js';
import { boundText } from './candidate-text.js';
import type { AgentContext, EmitOptions } from './define.js';
import { runtimeError } from './errors.js';
import { forwardedOutgoing, type Outbox } from './forwarded.js';

/** How much of a delivery note, and of its evidence, the ledger keeps. */
const NOTE_CHARS = 300;
const EVIDENCE_CHARS = 4096;

/** What a handler's context needs from its runner: envelopes to make, and late emissions to admit. */
export type AgentContextDeps = Pick<AgentRunnerDeps, 'active' | 'log' | 'factory' | 'work' | 'admitAll'>;

/**
 * What one try of a handler is given: who it runs as, its signal, and emit, effect and forward,
 * which make envelopes caused by `msg` and buffer them in the try's outbox.
 */
export function agentContext(
  deps: AgentContextDeps,
  spec: AgentSpec,
  msg: Envelope,
  tries: number,
  outbox: Outbox,
  abort: TryAbort,
): AgentContext {
  return new HandlerContext(deps, spec, msg, tries, outbox, abort);
}

// The context's own parts, under keys of this module: a handler sees `agent`, `version` and `attempt`.
const DEPS = Symbol('deps');
const SPEC = Symbol('spec');
const MSG = Symbol('msg');
const OUTBOX = Symbol('outbox');
const ABORT = Symbol('abort');
const EMIT = Symbol('emit');
const EFFECT = Symbol('effect');
const FORWARD = Symbol('forward');
const NOTE = Symbol('note');

/**
 * A handler's context as one small object per try. Its four methods are made when a handler first
 * reads them, and kept: most handlers use one or two, and an object literal made all four and its
 * two getters on every delivery. They are arrow functions, so a handler may take them out of the
 * context (`({ emit }) => …`). Its parts are kept under symbols, not private fields, so a Proxy of
 * the context or an object made from it still reaches them; a method may be replaced (`ctx.emit =
 * wrapped`), as on an object literal.
 */
class HandlerContext implements AgentContext {
  readonly agent: string;
  readonly version: string;
  readonly attempt: number;
  readonly [DEPS]: AgentContextDeps;
  readonly [SPEC]: AgentSpec;
  readonly [MSG]: Envelope;
  readonly [OUTBOX]: Outbox;
  readonly [ABORT]: TryAbort;
  [EMIT]: AgentContext['emit'] | undefined;
  [EFFECT]: AgentContext['effect'] | undefined;
  [FORWARD]: AgentContext['forward'] | undefined;
  [NOTE]: AgentContext['note'] | undefined;

  constructor(
    deps: AgentContextDeps,
    spec: AgentSpec,
    msg: Envelope,
    tries: number,
    outbox: Outbox,
    abort: TryAbort,
  ) {
    this.agent = spec.name;
    this.version = spec.version;
    this.attempt = tries;
    this[DEPS] = deps;
    this[SPEC] = spec;
    this[MSG] = msg;
    this[OUTBOX] = outbox;
    this[ABORT] = abort;
    this[EMIT] = undefined;
    this[EFFECT] = undefined;
    this[FORWARD] = undefined;
    this[NOTE] = undefined;
  }

  get signal(): AbortSignal {
    return signalOf(this[ABORT]);
  }
  // Made on each read: most handlers never log, and a child logger per delivery is not free.
  get log(): Logger {
    return this[DEPS].log.child({ agent: this.agent, msgId: this[MSG].id });
  }
  get emit(): AgentContext['emit'] {
    this[EMIT] ??= (type, data, o = {}) => made(this, type, data, o, 'message');
    return this[EMIT];
  }
  set emit(replaced: AgentContext['emit']) {
    this[EMIT] = replaced;
  }
  get effect(): AgentContext['effect'] {
    this[EFFECT] ??= (name, data, o = {}) => made(this, name, data, o, 'effect');
    return this[EFFECT];
  }
  set effect(replaced: AgentContext['effect']) {
    this[EFFECT] = replaced;
  }
  get forward(): AgentContext['forward'] {
    // An id of the remote's own is checked for duplicates by the partition that admits it.
    this[FORWARD] ??= (event) => {
      const deps = this[DEPS];
      const out = forwardedOutgoing(deps.factory, deps.active.policy, this[MSG], this[SPEC], event);
      return collect(deps, this[OUTBOX], this[SPEC], this[MSG], out);
    };
    return this[FORWARD];
  }
  set forward(replaced: AgentContext['forward']) {
    this[FORWARD] = replaced;
  }
  get note(): AgentContext['note'] {
    this[NOTE] ??= (text, evidence) => {
      const outbox = this[OUTBOX];
      if (!outbox.open) return;
      outbox.note = {
        text: boundText(text, NOTE_CHARS),
        ...(evidence === undefined ? {} : { evidence: boundText(evidence, EVIDENCE_CHARS) }),
      };
    };
    return this[NOTE];
  }
  set note(replaced: AgentContext['note']) {
    this[NOTE] = replaced;
  }
}

/** A message or an effect request caused by the delivered message, buffered in the try's outbox. */
function made(ctx: HandlerContext, type: string, data: JsonValue, o: EmitOptions, gated: GatedKind): string {
  const deps = ctx[DEPS];
  const msg = ctx[MSG];
  const spec = ctx[SPEC];
  const outbox = ctx[OUTBOX];
  return collect(deps, outbox, spec, msg, {
    envelope: deps.factory.child(msg, spec, type, data, o, placeIn(outbox)),
    gated,
  });
}

/**
 * An emission's place in its try, of which a cluster node derives its id; none for a late one (after
 * the try settled), which keeps a random id: it is no part of what a run of the handler emits.
 */
function placeIn(outbox: Outbox): number | undefined {
  return outbox.open ? outbox.items.length : undefined;
}

/** Buffers one try's emissions; an emission after the try settled is a bug in the agent, and says so. */
function collect(
  deps: AgentContextDeps,
  outbox: Outbox,
  spec: AgentSpec,
  msg: Envelope,
  out: Outgoing,
): string {
  if (!outbox.open) {
    const error = runtimeError('MW_RUNTIME_LATE_EMIT', {
      agent: spec.name,
      type: out.envelope.type,
      msgId: msg.id,
    });
    // Throwing would land in the agent's timer callback and crash the process: gated on its own
    // instead, where the gate refuses it (`envelope.late_emit`) and the ledger records it.
    deps.log.error({ err: error, msgId: msg.id, agent: spec.name }, 'late emit refused');
    deps.work.track(deps.admitAll([{ ...out, facts: { ...out.facts, late: true } }]));
    return out.envelope.id;
  }
  outbox.items.push(out);
  return out.envelope.id;
}
