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

/**
 * A handler's context as one small object per try. Its methods are made when a handler first reads
 * them, and kept: most handlers use one or two of them, and an object literal would make all five
 * (and its two getters) on every delivery. They are arrow functions, so a handler may take them out
 * of the context (`({ emit }) => …`) as it could before.
 */
class HandlerContext implements AgentContext {
  readonly agent: string;
  readonly version: string;
  readonly attempt: number;
  readonly #deps: AgentContextDeps;
  readonly #spec: AgentSpec;
  readonly #msg: Envelope;
  readonly #outbox: Outbox;
  readonly #abort: TryAbort;
  #emit: AgentContext['emit'] | undefined;
  #effect: AgentContext['effect'] | undefined;
  #forward: AgentContext['forward'] | undefined;
  #note: AgentContext['note'] | undefined;

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
    this.#deps = deps;
    this.#spec = spec;
    this.#msg = msg;
    this.#outbox = outbox;
    this.#abort = abort;
  }

  get signal(): AbortSignal {
    return signalOf(this.#abort);
  }
  // Made on first use: most handlers never log, and a child logger per delivery is not free.
  get log(): Logger {
    return this.#deps.log.child({ agent: this.agent, msgId: this.#msg.id });
  }
  get emit(): AgentContext['emit'] {
    this.#emit ??= (type, data, o = {}) => this.#made(type, data, o, 'message');
    return this.#emit;
  }
  get effect(): AgentContext['effect'] {
    this.#effect ??= (name, data, o = {}) => this.#made(name, data, o, 'effect');
    return this.#effect;
  }
  get forward(): AgentContext['forward'] {
    // An id of the remote's own is checked for duplicates by the partition that admits it.
    this.#forward ??= (event) => {
      const deps = this.#deps;
      const out = forwardedOutgoing(deps.factory, deps.active.policy, this.#msg, this.#spec, event);
      return collect(deps, this.#outbox, this.#spec, this.#msg, out);
    };
    return this.#forward;
  }
  get note(): AgentContext['note'] {
    this.#note ??= (text, evidence) => {
      const outbox = this.#outbox;
      if (!outbox.open) return;
      outbox.note = {
        text: boundText(text, NOTE_CHARS),
        ...(evidence === undefined ? {} : { evidence: boundText(evidence, EVIDENCE_CHARS) }),
      };
    };
    return this.#note;
  }

  /** A message or an effect request caused by the delivered message, buffered in the try's outbox. */
  #made(type: string, data: JsonValue, o: EmitOptions, gated: GatedKind): string {
    const deps = this.#deps;
    const msg = this.#msg;
    const spec = this.#spec;
    const outbox = this.#outbox;
    return collect(deps, outbox, spec, msg, {
      envelope: deps.factory.child(msg, spec, type, data, o, placeIn(outbox)),
      gated,
    });
  }
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
