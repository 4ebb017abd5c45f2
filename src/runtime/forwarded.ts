import type { Envelope } from '../envelope/index.js';
import type { RuntimeFacts } from '../gate/index.js';
import type { AgentSpec, Policy } from '../policy/index.js';
import type { Outgoing } from './agent-runner.js';
import type { EnvelopeFactory } from './envelopes.js';
import type { RemoteEvent } from './transports.js';

// What the agent runner needs for events a transport forwards from a remote agent (`ctx.forward`).

/** One try's emissions, in order; a forwarded event with an id of its own waits on a ledger read. */
export type Outbox = { readonly items: (Outgoing | Promise<Outgoing>)[]; open: boolean };

/** A try's emissions once every duplicate-id read among them is answered. */
export function settled(items: Outbox['items']): Outgoing[] | Promise<Outgoing[]> {
  if (!items.some((item) => item instanceof Promise)) return items as Outgoing[];
  return Promise.all(items);
}

/**
 * A remote agent's event as the warden gates it: the envelope the warden builds (source and
 * causation are the warden's to fill), and what the remote claimed besides, for the gate to
 * compare. An id the ledger already holds (`takenId`) is not used: the event gets one of the
 * warden's own, and the gate refuses it.
 */
export function forwardedOutgoing(
  factory: EnvelopeFactory,
  policy: Policy,
  msg: Envelope,
  spec: AgentSpec,
  event: RemoteEvent,
  takenId: string | undefined,
): Outgoing {
  const { id: _, ...withoutId } = event;
  const envelope = factory.child(
    msg,
    spec,
    event.type,
    event.data,
    authored(takenId === undefined ? event : withoutId),
  );
  const facts = factsOf(takenId, event);
  return {
    envelope,
    gated: policy.effects.has(event.type) ? 'effect' : 'message',
    ...(event.id === undefined || takenId !== undefined ? {} : { external: true }),
    ...(facts === undefined ? {} : { facts }),
  };
}

/** What the gate must know of a remote agent's event beyond its envelope: a taken id, its claims. */
function factsOf(takenId: string | undefined, event: RemoteEvent): RuntimeFacts | undefined {
  const { source, causationid } = event;
  if (takenId === undefined && source === undefined && causationid === undefined) return undefined;
  const claimed =
    source === undefined && causationid === undefined
      ? undefined
      : {
          ...(source === undefined ? {} : { source }),
          ...(causationid === undefined ? {} : { causationid }),
        };
  return {
    ...(takenId === undefined ? {} : { takenId }),
    ...(claimed === undefined ? {} : { claimed }),
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
