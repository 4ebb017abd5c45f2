import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { meshToken } from './jetstream-names.js';
import { halfMaxPayload } from './nats-connect.js';
import { errorFromWire, errorToWire, type WireError } from './wire-error.js';

/**
 * Carries the outcome of an item handled on another node back to the node that sent it (distributed
 * mode): the item names its sender (`from`) and its ticket there; the owner sends the outcome once
 * it settled, and the sender settles the ticket with it, as if the item had been handled in its own
 * process. A reply is at most once (core NATS); the sender's ledger check covers a lost one
 * (partition-router.ts).
 *
 * A node whose items say so (`batchReply`) takes its replies in batches: every reply to it that
 * settled in one turn of the event loop travels in one NATS message, a JSON array, where each used to
 * be a message of its own (on the bench's pipeline, a message per root: a publish, the broker's
 * routing and a delivery each). One that does not say so (a node of an earlier version, during a
 * rolling restart) gets each reply alone, as before; every node reads both.
 */
export type ReplyChannel = {
  /** Sends `outcome`, once it settles, to ticket `ticket` of node `node`: in a batch if `batched`. */
  send(node: string, ticket: number, outcome: Promise<unknown>, batched?: boolean): void;
  /** Sends the replies waiting for their batch, then stops listening. Idempotent. */
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
      let got: unknown;
      try {
        got = msg.json<unknown>();
      } catch (cause) {
        opts.onError(cause);
        return;
      }
      // Each reply of a batch on its own: one that is not a reply is reported, not the rest's loss.
      for (const wire of Array.isArray(got) ? got : [got]) {
        if (!isWire(wire)) {
          opts.onError(new TypeError(`not a reply: ${JSON.stringify(wire)?.slice(0, 200)}`));
          continue;
        }
        opts.settle(wire.t, 'e' in wire ? Promise.reject(errorFromWire(wire.e)) : Promise.resolve(wire.v));
      }
    },
  });
  const publish = (node: string, text: string) => {
    try {
      nc.publish(replySubject(mesh, node), text);
    } catch (err) {
      // A closed connection: the sender's ledger check finds the outcome.
      opts.onError(err);
    }
  };
  // Batched replies of this turn of the event loop, by node, as wire texts.
  const pending = new Map<string, string[]>();
  let flushing: NodeJS.Immediate | undefined;
  let closed = false;
  const flush = () => {
    flushing = undefined;
    for (const [node, texts] of pending)
      for (const batch of batches(texts, halfMaxPayload(nc))) publish(node, batch);
    pending.clear();
  };
  const reply = (node: string, wire: Wire, batched: boolean) => {
    let text: string;
    try {
      text = JSON.stringify(wire);
    } catch (err) {
      // An outcome with no JSON form (an error's details holding a BigInt): the sender's ledger
      // check finds what was decided.
      return opts.onError(err);
    }
    // Closed: what still settles goes out alone, with nothing left to flush it.
    if (!batched || closed) return publish(node, text);
    const texts = pending.get(node);
    if (texts === undefined) pending.set(node, [text]);
    else texts.push(text);
    flushing ??= setImmediate(flush);
  };
  return {
    send(node, ticket, outcome, batched = false) {
      outcome.then(
        (v) => reply(node, { t: ticket, v: v ?? null }, batched),
        (err: unknown) => reply(node, { t: ticket, e: errorToWire(err) }, batched),
      );
    },
    async close() {
      closed = true;
      if (flushing !== undefined) clearImmediate(flushing);
      flush();
      if (!sub.isClosed()) sub.unsubscribe();
    },
  };
}

function isWire(v: unknown): v is Wire {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { t?: unknown }).t === 'number' &&
    ('v' in v || 'e' in v)
  );
}

/**
 * Wire texts as JSON arrays of at most `maxBytes` of UTF-8 each. A text too big for that alone goes
 * alone and as it is, not in an array, as an unbatched reply would: one that fits the broker's
 * largest message is sent, one that does not fails as it would have.
 */
export function batches(texts: readonly string[], maxBytes: number): string[] {
  const out: string[] = [];
  let part: string[] = [];
  let size = 1; // `[`, then each text and the `,` or `]` after it
  const close = () => {
    if (part.length > 0) out.push(`[${part.join(',')}]`);
    part = [];
    size = 1;
  };
  for (const text of texts) {
    const bytes = Buffer.byteLength(text) + 1;
    if (size + bytes > maxBytes) close();
    if (1 + bytes > maxBytes) out.push(text);
    else {
      part.push(text);
      size += bytes;
    }
  }
  close();
  return out;
}
