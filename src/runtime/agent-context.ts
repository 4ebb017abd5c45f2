import type { Envelope } from '../envelope/index.js';
import type { AgentSpec } from '../policy/index.js';
import type { AgentRunnerDeps, Outgoing } from './agent-runner.js';
import { signalOf, type TryAbort } from './attempts.js';
import { boundText } from './candidate-text.js';
import type { AgentContext } from './define.js';
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
  const { active, log, factory } = deps;
  return {
    agent: spec.name,
    version: spec.version,
    attempt: tries,
    get signal() {
      return signalOf(abort);
    },
    // Made on first use: most handlers never log, and a child logger per delivery is not free.
    get log() {
      return log.child({ agent: spec.name, msgId: msg.id });
    },
    emit(type, data, o = {}) {
      return collect(deps, outbox, spec, msg, {
        envelope: factory.child(msg, spec, type, data, o, placeIn(outbox)),
        gated: 'message',
      });
    },
    effect(name, data, o = {}) {
      return collect(deps, outbox, spec, msg, {
        envelope: factory.child(msg, spec, name, data, o, placeIn(outbox)),
        gated: 'effect',
      });
    },
    forward(event) {
      // An id of the remote's own is checked for duplicates by the partition that admits it.
      return collect(deps, outbox, spec, msg, forwardedOutgoing(factory, active.policy, msg, spec, event));
    },
    note(text, evidence) {
      if (!outbox.open) return;
      outbox.note = {
        text: boundText(text, NOTE_CHARS),
        ...(evidence === undefined ? {} : { evidence: boundText(evidence, EVIDENCE_CHARS) }),
      };
    },
  };
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
