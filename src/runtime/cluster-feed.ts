import { headers, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Envelope } from '../envelope/index.js';
import type { MeshEvent } from './events.js';
import { meshToken } from './jetstream-names.js';
import { halfMaxPayload } from './nats-connect.js';

/** A node's events of one interval, as they cross the cluster on `mw.<mesh>.events`. */
type EventBatch = { readonly node: string; readonly events: readonly MeshEvent[]; readonly dropped: number };

/** A listener of every node's events: the event, and the node that decided it. */
export type ClusterEventListener = (event: MeshEvent, node: string) => void;

export type ClusterFeed = {
  /** Calls `listener` with every event of every node of the mesh, this one's included, until called back. */
  onEvent(listener: ClusterEventListener): () => void;
  /** Events of this node that did not fit a batch, since start (the feed samples; the ledger keeps all). */
  dropped(): number;
  close(): void;
};

/** Names a batch's node outside its JSON, so that a node skips its own batches without parsing them. */
const NODE_HEADER = 'Meshwarden-Node';

/** How often a node sends what it decided, and how much at most per send. */
const FLUSH_MS = 100;
const MAX_BATCH = 2_000;

/**
 * The mesh-wide live feed (distributed mode): each node publishes its own events in batches on core
 * NATS, subject `mw.<mesh>.events`, and every node subscribes to that subject. Core NATS, not a
 * stream: the feed is a live view (a watcher that was away reads the ledger), so nothing is stored or
 * acked, and a node that is gone simply stops appearing. A batch carries at most `MAX_BATCH` events
 * a `FLUSH_MS`; the rest are counted as dropped. Envelopes travel as the feed shows them (id, source,
 * type, subject, time, hop), not whole: the ledger has the rest (`GET /messages/{id}/why`).
 */
export function openClusterFeed(opts: {
  readonly connection: NatsConnection;
  readonly meshName: string;
  readonly node: string;
  readonly onLocalEvent: (listener: (event: MeshEvent) => void) => () => void;
  readonly onError: (err: unknown) => void;
}): ClusterFeed {
  const { connection: nc, node } = opts;
  const subject = `mw.${meshToken(opts.meshName)}.events`;
  const listeners = new Set<ClusterEventListener>();
  let pending: MeshEvent[] = [];
  let droppedNow = 0;
  let droppedTotal = 0;
  let timer: NodeJS.Timeout | undefined;
  const own = headers();
  own.set(NODE_HEADER, node);

  const flush = () => {
    timer = undefined;
    if (pending.length === 0 && droppedNow === 0) return;
    const chunks = chunked(pending, node, droppedNow, halfMaxPayload(nc));
    pending = [];
    droppedNow = 0;
    try {
      for (const chunk of chunks) nc.publish(subject, chunk, { headers: own });
    } catch (err) {
      // A closed connection: the feed ends with the node; decisions are in the ledger all the same.
      opts.onError(err);
    }
  };

  const stopLocal = opts.onLocalEvent((event) => {
    // This node's watchers get its events at once, not a round trip later.
    for (const listener of listeners) listener(event, node);
    if (pending.length >= MAX_BATCH) {
      droppedNow++;
      droppedTotal++;
      return;
    }
    pending.push(slim(event));
    timer ??= setTimeout(flush, FLUSH_MS).unref();
  });

  const sub: Subscription = nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err !== null) return opts.onError(err);
      // The broker echoes a node's own batches: its watchers had those events at once.
      if (msg.headers?.get(NODE_HEADER) === node) return;
      let batch: EventBatch;
      try {
        batch = msg.json<EventBatch>();
      } catch (cause) {
        return opts.onError(cause);
      }
      if (batch.node === node || !Array.isArray(batch.events)) return;
      for (const event of batch.events) for (const listener of listeners) listener(event, batch.node);
    },
  });

  return {
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dropped: () => droppedTotal,
    close() {
      stopLocal();
      if (timer !== undefined) clearTimeout(timer);
      flush();
      sub.unsubscribe();
      listeners.clear();
    },
  };
}

/**
 * A batch as messages of at most about `maxBytes` each (`EventBatch` JSON; the first carries
 * `dropped`). An event bigger than that alone (a huge subject) is counted as dropped instead.
 */
export function chunked(
  events: readonly MeshEvent[],
  node: string,
  dropped: number,
  maxBytes: number,
): string[] {
  const room = maxBytes - 64 - Buffer.byteLength(node);
  const texts = events.map((event) => JSON.stringify(event));
  const fits = texts.filter((text) => Buffer.byteLength(text) < room);
  const head = (d: number) => `{"node":${JSON.stringify(node)},"dropped":${d},"events":[`;
  const chunks: string[] = [];
  let parts: string[] = [];
  let size = 0;
  const close = () => {
    const d = chunks.length === 0 ? dropped + texts.length - fits.length : 0;
    chunks.push(`${head(d)}${parts.join(',')}]}`);
    parts = [];
    size = 0;
  };
  for (const text of fits) {
    const bytes = Buffer.byteLength(text) + 1;
    if (parts.length > 0 && size + bytes > room) close();
    parts.push(text);
    size += bytes;
  }
  if (parts.length > 0 || chunks.length === 0) close();
  return chunks;
}

/** An event as the feed needs it: an envelope's identity only, no payload, no effect result. */
export function slim(event: MeshEvent): MeshEvent {
  if (event.type === 'decision' && event.envelope !== undefined) {
    const { id, source, type, subject, time, hop } = event.envelope;
    const { link: _link, ...decision } = event;
    return { ...decision, envelope: { id, source, type, subject, time, hop, data: null } as Envelope };
  }
  if (event.type === 'effect-executed') {
    const { result: _result, ...executed } = event;
    return executed;
  }
  return event;
}
