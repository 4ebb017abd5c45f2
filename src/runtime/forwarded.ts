import type { Envelope } from '../envelope/index.js';
import type { RuntimeFacts } from '../gate/index.js';
import type { AgentSpec, Policy } from '../policy/index.js';
import type { Outgoing } from './agent-runner.js';
import type { EnvelopeFactory } from './envelopes.js';
import type { RemoteEvent } from './transports.js';

// What the agent runner needs for events a transport forwards from a remote agent (`ctx.forward`).

/** One try's emissions, in order. */
export type Outbox = { readonly items: Outgoing[]; open: boolean; note?: DeliveryNote };

/** Why a delivery emitted nothing, as its handler said it (`ctx.note`), bounded for the ledger. */
export type DeliveryNote = { readonly text: string; readonly evidence?: string };

/**
 * A remote agent's event as the warden gates it: the envelope the warden builds (source and
 * causation are the warden's to fill), and what the remote claimed besides, for the gate to
 * compare. An id of its own is `external`: the partition that admits it reads whether the ledger
 * holds it, or another message claimed it (partitions.ts), and gates it `takenOutgoing` if so.
 */
export function forwardedOutgoing(
  factory: EnvelopeFactory,
  policy: Policy,
  msg: Envelope,
  spec: AgentSpec,
  event: RemoteEvent,
): Outgoing {
  const envelope = factory.child(msg, spec, event.type, event.data, authored(event));
  const facts = factsOf(event);
  return {
    envelope,
    gated: policy.effects.has(event.type) ? 'effect' : 'message',
    ...(event.id === undefined ? {} : { external: true }),
    ...(facts === undefined ? {} : { facts }),
  };
}

/**
 * An emission whose id from outside names another message (the ledger holds it, or a partition
 * claimed it): gated under `id`, one of the warden's own, so that message's lineage stays its own,
 * with the fact `takenId` for the gate to refuse it.
 */
export function takenOutgoing(out: Outgoing, id: string): Outgoing {
  const { external: _, envelope, facts, ...rest } = out;
  return { ...rest, envelope: { ...envelope, id }, facts: { ...facts, takenId: envelope.id } };
}

/** What the gate must know of a remote agent's event beyond its envelope: its claims, a failed reply mapping. */
function factsOf(event: RemoteEvent): RuntimeFacts | undefined {
  const { source, causationid, unmapped } = event;
  if (source === undefined && causationid === undefined && unmapped === undefined) return undefined;
  return {
    ...(source === undefined && causationid === undefined
      ? {}
      : {
          claimed: {
            ...(source === undefined ? {} : { source }),
            ...(causationid === undefined ? {} : { causationid }),
          },
        }),
    ...(unmapped === undefined ? {} : { unmapped: { pointer: unmapped.pointer, problem: unmapped.problem } }),
  };
}

/** What a remote agent authored of its event, as the envelope factory takes it. */
function authored(event: Omit<RemoteEvent, 'type' | 'data'>) {
  return {
    ...(event.subject === undefined ? {} : { subject: event.subject }),
    ...(event.target === undefined ? {} : { target: event.target }),
    ...(event.model === undefined ? {} : { model: event.model }),
    ...(event.id === undefined ? {} : { id: event.id }),
    ...(event.time === undefined ? {} : { time: event.time }),
    ...(event.signature === undefined ? {} : { signature: event.signature }),
  };
}
