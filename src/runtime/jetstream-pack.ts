import { createHash } from 'node:crypto';
import type { JsMsg } from '@nats-io/jetstream';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import type { Published } from './bus.js';

// Several items in one JetStream message. Items published to one partition in the same turn of the
// event loop (a feeder's burst, a handler's emissions to another node's partitions, the requests one
// poll of the sockets read) travel as one message: one publish, one stored message, one delivery and
// one ack for all of them, where each cost the broker, the publisher and the owner as much as a whole
// message. docs/distributed.md ("Transport") gives the numbers and the format rules.

/** The header of a message that holds several items: their count. Its body is their JSON array. */
export const ITEMS_HEADER = 'Mw-Items';

/** What goes on the wire for one or more items of a partition. */
export type PackedMessage = {
  readonly data: string;
  /** `Nats-Msg-Id`: the item's id, or for several, a digest of all their ids (none if one has none). */
  readonly id: string | undefined;
  readonly headers: MsgHdrs | undefined;
  readonly count: number;
};

export type PublishPackerOptions = {
  /** The most items one message holds; 1 sends each item as a message of its own. */
  readonly maxItems: number;
  /** A message is sent before its JSON would grow past this many bytes of UTF-8 (one item may exceed it). */
  readonly maxBytes: number;
  /** Publishes one message; resolves on the stream's ack (every item of it is stored, or held already). */
  readonly send: (partition: number, message: PackedMessage) => Promise<Published>;
};

type Waiter = { readonly resolve: (published: Published) => void; readonly reject: (error: unknown) => void };
type Pending = { data: string[]; ids: (string | undefined)[]; waiters: Waiter[]; bytes: number };

/**
 * Collects what is published per partition until the event loop's check phase (or until a message is
 * full), then sends it as one message, in the order published. Each item's promise settles with its
 * message's publish ack. One item alone is sent as it always was (no header), so a quiet mesh writes
 * exactly what a node without packing writes.
 */
export function createPublishPacker(opts: PublishPackerOptions) {
  const pending = new Map<number, Pending>();
  let scheduled = false;

  const flush = (partition: number, batch: Pending) => {
    pending.delete(partition);
    const message = packMessage(batch.data, batch.ids);
    const { waiters } = batch;
    opts.send(partition, message).then(
      (published) => {
        for (const waiter of waiters) waiter.resolve(published);
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error);
      },
    );
  };
  const flushAll = () => {
    scheduled = false;
    for (const [partition, batch] of pending) flush(partition, batch);
  };

  return {
    /**
     * Queues one item's JSON (and id) for its partition; resolves once the stream stored it (with
     * `'duplicate'` when its message was a resend the stream held already).
     */
    add(partition: number, data: string, id: string | undefined): Promise<Published> {
      if (opts.maxItems <= 1) return opts.send(partition, { data, id, headers: undefined, count: 1 });
      let batch = pending.get(partition);
      const bytes = Buffer.byteLength(data) + 1; // and its `,` or `]`
      if (batch !== undefined && batch.bytes + bytes > opts.maxBytes) {
        flush(partition, batch);
        batch = undefined;
      }
      if (batch === undefined) {
        batch = { data: [], ids: [], waiters: [], bytes: 1 };
        pending.set(partition, batch);
      }
      const { data: datas, ids, waiters } = batch;
      datas.push(data);
      ids.push(id);
      batch.bytes += bytes;
      const stored = new Promise<Published>((resolve, reject) => waiters.push({ resolve, reject }));
      if (datas.length >= opts.maxItems) flush(partition, batch);
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flushAll);
      }
      return stored;
    },
  };
}

/** Items' JSON (and ids) as one message: an item alone as it is, several as their packed array. */
export function packMessage(data: readonly string[], ids: readonly (string | undefined)[]): PackedMessage {
  const count = data.length;
  if (count === 1) return { data: data[0]!, id: ids[0], headers: undefined, count };
  const h = headers();
  h.set(ITEMS_HEADER, String(count));
  return { data: `[${data.join(',')}]`, id: digestOf(ids), headers: h, count };
}

/**
 * The broker's duplicate id of several items: a digest of all their ids in order, so that only a
 * resend of the very same items is dropped. None if an item has no id: two such messages could
 * differ only in an item the digest cannot see, and the second would be dropped unsaid.
 */
function digestOf(ids: readonly (string | undefined)[]): string | undefined {
  const hash = createHash('sha256');
  for (const id of ids) {
    if (id === undefined) return undefined;
    // Each id after its length: no two lists of ids run together into the same text.
    hash.update(`${id.length}:`).update(id);
  }
  return `mw-items:${hash.digest('base64url')}`;
}

/**
 * A delivered message's items: one, or the array a packed message holds. Throws when the body is not
 * JSON, or a packed message's body is not an array of the count its header says.
 */
export function unpackItems<T>(msg: JsMsg): T[] {
  const count = msg.headers?.get(ITEMS_HEADER);
  const value: unknown = JSON.parse(msg.string());
  if (count === undefined || count === '') return [value as T];
  if (!Array.isArray(value) || String(value.length) !== count)
    throw new Error(`the ${ITEMS_HEADER} header says ${count} items and the body is not an array of them`);
  return value as T[];
}
