import type { Envelope } from '../envelope/index.js';
import type { Outgoing } from './delivery.js';
import type { RemoteEvent } from './transports.js';

// What delivery needs for events a transport forwards from a remote agent (`ctx.forward`).

/** One try's emissions, in order; a forwarded event with an id of its own waits on a ledger read. */
export type Outbox = { readonly items: (Outgoing | Promise<Outgoing | undefined>)[]; open: boolean };

/** A try's emissions once every duplicate-id read among them is answered; refused ones drop out. */
export function settled(items: Outbox['items']): Outgoing[] | Promise<Outgoing[]> {
  if (!items.some((item) => item instanceof Promise)) return items as Outgoing[];
  return Promise.all(items).then((all) => all.filter((item) => item !== undefined));
}

/**
 * The warden fills source and causation; a remote that claims others speaks for someone else: the
 * reason and sentence to refuse its event with, or undefined when it claims only its own.
 */
export function claimMismatch(
  agent: string,
  msg: Envelope,
  event: RemoteEvent,
  source: string,
): { reason: string; detail: string } | undefined {
  if (event.source !== undefined && event.source !== source) {
    return {
      reason: 'envelope.source_mismatch',
      detail: `Agent ${agent} answered with an event claiming source ${event.source}; it may only speak as ${source}.`,
    };
  }
  if (event.causationid !== undefined && event.causationid !== msg.id) {
    return {
      reason: 'envelope.causation_mismatch',
      detail: `Agent ${agent} answered message ${msg.id} with an event caused by ${event.causationid}.`,
    };
  }
  return undefined;
}

/** What a remote agent authored of its event, as the envelope factory takes it. */
export function authored(event: Omit<RemoteEvent, 'type' | 'data'>) {
  return {
    ...(event.subject === undefined ? {} : { subject: event.subject }),
    ...(event.target === undefined ? {} : { target: event.target }),
    ...(event.model === undefined ? {} : { model: event.model }),
    ...(event.id === undefined ? {} : { id: event.id }),
    ...(event.time === undefined ? {} : { time: event.time }),
    ...(event.signature === undefined ? {} : { signature: event.signature }),
  };
}
