import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { meshToken } from './jetstream-names.js';
import { errorFromWire, errorToWire, type WireError } from './wire-error.js';

/**
 * Carries the outcome of an item handled on another node back to the node that sent it (distributed
 * mode): the item names its sender (`from`) and its ticket there; the owner sends the outcome once
 * it settled, and the sender settles the ticket with it, as if the item had been handled in its own
 * process. A reply is at most once (core NATS); the sender's ledger check covers a lost one
 * (partition-router.ts).
 */
export type ReplyChannel = {
  /** Sends `outcome`, once it settles, to ticket `ticket` of node `node`. */
  send(node: string, ticket: number, outcome: Promise<unknown>): void;
  /** Stops listening. Idempotent. */
  close(): Promise<void>;
};

/** A reply on the wire: the ticket, and the value or the error (typed errors keep their code). */
type Wire = { readonly t: number; readonly v: unknown } | { readonly t: number; readonly e: WireError };

/** The subject a node's replies come to, `mw.<mesh>.r.<node>`. */
export function replySubject(mesh: string, node: string): string {
  return `mw.${meshToken(mesh)}.r.${node}`;
}

/**
 * Listens for this node's replies on `nc` and settles each through `settle`; sends the others'.
 * An error comes back as a MeshwardenError with the same code, sentence and details; a value as
 * JSON (a decision entry, a group's entries).
 */
export function openNatsReplies(opts: {
  readonly connection: NatsConnection;
  readonly mesh: string;
  readonly node: string;
  readonly settle: (ticket: number, outcome: Promise<unknown>) => void;
  readonly onError: (error: unknown) => void;
}): ReplyChannel {
  const { connection: nc, mesh } = opts;
  const sub: Subscription = nc.subscribe(replySubject(mesh, opts.node), {
    callback: (err, msg) => {
      if (err !== null) {
        opts.onError(err);
        return;
      }
      let wire: Wire;
      try {
        wire = msg.json<Wire>();
      } catch (cause) {
        opts.onError(cause);
        return;
      }
      opts.settle(wire.t, 'e' in wire ? Promise.reject(errorFromWire(wire.e)) : Promise.resolve(wire.v));
    },
  });
  const publish = (node: string, wire: Wire) => {
    try {
      nc.publish(replySubject(mesh, node), JSON.stringify(wire));
    } catch (err) {
      // A closed connection: the sender's ledger check finds the outcome.
      opts.onError(err);
    }
  };
  return {
    send(node, ticket, outcome) {
      outcome.then(
        (v) => publish(node, { t: ticket, v: v ?? null }),
        (err: unknown) => publish(node, { t: ticket, e: errorToWire(err) }),
      );
    },
    async close() {
      if (!sub.isClosed()) sub.unsubscribe();
    },
  };
}
