import { headers, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Envelope } from '../envelope/index.js';
import type { VerdictDecision } from '../gate/index.js';
import type { MeshEvent } from './events.js';
import { meshToken } from './jetstream-names.js';
import { halfMaxPayload } from './nats-connect.js';

/** A node's decisions of one second on one edge (the envelopes' source and type), by verdict. */
export type DecisionCount = {
  readonly source: string;
  readonly type: string;
  /** Whole seconds since the epoch, of the decisions' `at`. */
  readonly second: number;
  readonly counts: Readonly<Record<VerdictDecision, number>>;
};

/** A node's events of one interval, as they cross the cluster on `mw.<mesh>.events`. */
type EventBatch = {
  readonly node: string;
  readonly events: readonly MeshEvent[];
  readonly dropped: number;
  readonly counts?: readonly DecisionCount[];
  /** The sender's clock at the send, with the counts (absent from a node of an earlier version). */
  readonly sentAt?: number;
};

/** A listener of every node's events: the event, and the node that decided it. */
export type ClusterEventListener = (event: MeshEvent, node: string) => void;

/** A listener of the other nodes' decision counts, with the node that decided them. */
export type ClusterCountsListener = (counts: readonly DecisionCount[], node: string) => void;

export type ClusterFeed = {
  /**
   * Calls `listener` with this node's events at once, and with the other nodes' alerts and alarms,
   * and while this node follows (`follow`) all their other events, until called back.
   */
  onEvent(listener: ClusterEventListener): () => void;
  /** Calls `listener` with the other nodes' decisions, counted, every interval they decided any. */
  onCounts(listener: ClusterCountsListener): () => void;
  /** Asks every other node for all its events (a watcher of the feed came), until called back. */
  follow(): () => void;
  /** Events of this node that did not fit a batch, since start (the feed samples; the ledger keeps all). */
  dropped(): number;
  close(): void;
};

/** Names a batch's node outside its JSON, so that a node skips its own batches without parsing them. */
const NODE_HEADER = 'Meshwarden-Node';

/** How often a node sends what it decided, and how much at most per send. */
const FLUSH_MS = 100;
const MAX_BATCH = 2_000;

/** How often a following node says so, and how long one saying lasts. */
export const FOLLOW_MS = 1_000;
const FOLLOW_LASTS_MS = 3 * FOLLOW_MS;

/** Kinds a node always sends: what every node's console lists (alerts, drift alarms), rare. */
const ALWAYS_SENT: ReadonlySet<MeshEvent['type']> = new Set(['alert', 'alarm']);

/**
 * The mesh-wide live feed (distributed mode): each node publishes its own events in batches on core
 * NATS, subject `mw.<mesh>.events`, and every node subscribes to that subject. Core NATS, not a
 * stream: the feed is a live view (a watcher that was away reads the ledger), so nothing is stored or
 * acked, and a node that is gone simply stops appearing.
 *
 * A node sends its decisions as counts per edge and second, and its alerts and alarms, always: what
 * every console shows (rates, alerts). Every other event, decisions included, it sends only while
 * some node follows (a watcher of its feed is connected): that node says so on
 * `mw.<mesh>.events.follow` every `FOLLOW_MS`. So a mesh nobody watches pays for counts, not for
 * a copy of every decision on the broker. A batch carries at most `MAX_BATCH` events a `FLUSH_MS`;
 * the rest are counted as dropped. Envelopes travel as the feed shows them (id, source, type,
 * subject, time, hop), not whole: the ledger has the rest (`GET /messages/{id}/why`).
 */
export function openClusterFeed(opts: {
  readonly connection: NatsConnection;
  readonly meshName: string;
  readonly node: string;
  readonly onLocalEvent: (listener: (event: MeshEvent) => void) => () => void;
  readonly onError: (err: unknown) => void;
  /** The clock that times followers' sayings and the counts' `sentAt` (tests move it). */
  readonly now?: () => number;
}): ClusterFeed {
  const { connection: nc, node } = opts;
  const now = opts.now ?? Date.now;
  const subject = `mw.${meshToken(opts.meshName)}.events`;
  const followSubject = `${subject}.follow`;
  const listeners = new Set<ClusterEventListener>();
  const countListeners = new Set<ClusterCountsListener>();
  let pending: MeshEvent[] = [];
  const counted: Counter = new Map();
  let droppedNow = 0;
  let droppedTotal = 0;
  let timer: NodeJS.Timeout | undefined;
  let followedUntil = 0;
  let followers = 0;
  let sayFollowing: NodeJS.Timeout | undefined;
  const own = headers();
  own.set(NODE_HEADER, node);

  const publish = (to: string, payload: string) => {
    try {
      nc.publish(to, payload, { headers: own });
    } catch (err) {
      // A closed connection: the feed ends with the node; decisions are in the ledger all the same.
      opts.onError(err);
    }
  };

  const flush = () => {
    timer = undefined;
    if (pending.length === 0 && droppedNow === 0 && counted.size === 0) return;
    const counts = [...counted.values()];
    counted.clear();
    for (const chunk of chunked(pending, node, droppedNow, halfMaxPayload(nc), counts, now()))
      publish(subject, chunk);
    pending = [];
    droppedNow = 0;
  };

  const stopLocal = opts.onLocalEvent((event) => {
    // This node's watchers get its events at once, not a round trip later.
    for (const listener of listeners) listener(event, node);
    countDecision(counted, event);
    timer ??= setTimeout(flush, FLUSH_MS).unref();
    const always = ALWAYS_SENT.has(event.type);
    if (!always && now() >= followedUntil) return;
    // Alerts and alarms are few and every console lists them: the cap is for the rest.
    if (!always && pending.length >= MAX_BATCH) {
      droppedNow++;
      droppedTotal++;
      return;
    }
    pending.push(slim(event));
  });

  const subs: Subscription[] = [
    nc.subscribe(subject, {
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
        // A node of an earlier version sends every decision and no counts: counted here.
        const counts = Array.isArray(batch.counts)
          ? onClockOf(batch.counts, batch.sentAt, now())
          : countsOf(batch.events);
        if (counts.length > 0) for (const listener of countListeners) listener(counts, batch.node);
        for (const event of batch.events) for (const listener of listeners) listener(event, batch.node);
      },
    }),
    nc.subscribe(followSubject, {
      callback: (err, msg) => {
        if (err !== null) return opts.onError(err);
        if (msg.headers?.get(NODE_HEADER) !== node) followedUntil = now() + FOLLOW_LASTS_MS;
      },
    }),
  ];

  return {
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onCounts(listener) {
      countListeners.add(listener);
      return () => countListeners.delete(listener);
    },
    follow() {
      if (followers++ === 0) {
        publish(followSubject, node);
        sayFollowing = setInterval(() => publish(followSubject, node), FOLLOW_MS).unref();
      }
      let stopped = false;
      return () => {
        if (stopped) return;
        stopped = true;
        if (--followers === 0) clearInterval(sayFollowing);
      };
    },
    dropped: () => droppedTotal,
    close() {
      stopLocal();
      if (timer !== undefined) clearTimeout(timer);
      clearInterval(sayFollowing);
      flush();
      for (const sub of subs) sub.unsubscribe();
      listeners.clear();
      countListeners.clear();
    },
  };
}

/** Decision counts being summed, by second, source and type. */
type Counter = Map<string, { -readonly [K in keyof DecisionCount]: DecisionCount[K] }>;

/** Adds a decision (with an envelope: one that has an edge) to its count; other events pass. */
function countDecision(counted: Counter, event: MeshEvent): void {
  if (event.type !== 'decision' || event.envelope === undefined) return;
  const { source, type } = event.envelope;
  const second = Math.floor(event.at / 1000);
  const key = `${second} ${source} ${type}`;
  let c = counted.get(key);
  if (c === undefined) {
    c = { source, type, second, counts: { deliver: 0, deny: 0, hold: 0, quarantine: 0 } };
    counted.set(key, c);
  }
  (c.counts as Record<VerdictDecision, number>)[event.verdict.decision]++;
}

/**
 * Counts timed by the sender's clock, moved onto this node's by the whole seconds between the two
 * (`sentAt` against `now`, from 2 s on: less is transit): a node whose clock runs ahead or
 * behind would otherwise put its counts outside the other nodes' window, or push theirs out. A
 * batch without `sentAt` (a node of an earlier version) is taken as timed.
 */
function onClockOf(counts: readonly DecisionCount[], sentAt: unknown, now: number): readonly DecisionCount[] {
  if (typeof sentAt !== 'number' || !Number.isFinite(sentAt)) return counts;
  const skew = now - sentAt;
  // Under 2 s is a batch's way here (a busy event loop, a slow reader), not a clock.
  if (Math.abs(skew) < 2_000) return counts;
  const shift = Math.round(skew / 1000);
  return counts.map((c) => ({ ...c, second: c.second + shift }));
}

/** The decisions among `events`, counted. */
export function countsOf(events: readonly MeshEvent[]): DecisionCount[] {
  const counted: Counter = new Map();
  for (const event of events) countDecision(counted, event);
  return [...counted.values()];
}

/**
 * A batch as messages of at most about `maxBytes` each (`EventBatch` JSON; the first carries
 * `dropped` and the counts, which are small: an edge and second a row, with `sentAt`, the clock
 * they were sent by). An event bigger than a message alone (a huge subject) is counted as dropped
 * instead.
 */
export function chunked(
  events: readonly MeshEvent[],
  node: string,
  dropped: number,
  maxBytes: number,
  counts: readonly DecisionCount[] = [],
  sentAt?: number,
): string[] {
  // No time (or none that is a number) sends none: the counts are then taken as timed.
  const at = sentAt !== undefined && Number.isFinite(sentAt) ? `,"sentAt":${Math.round(sentAt)}` : '';
  const counted = counts.length === 0 ? '' : `${at},"counts":${JSON.stringify(counts)}`;
  const room = maxBytes - 64 - Buffer.byteLength(node);
  const texts = events.map((event) => JSON.stringify(event));
  const fits = texts.filter((text) => Buffer.byteLength(text) < room);
  const chunks: string[] = [];
  let parts: string[] = [];
  let size = 0;
  const roomNow = () => (chunks.length === 0 ? room - Buffer.byteLength(counted) : room);
  const close = () => {
    const first = chunks.length === 0;
    const d = first ? dropped + texts.length - fits.length : 0;
    chunks.push(
      `{"node":${JSON.stringify(node)},"dropped":${d}${first ? counted : ''},"events":[${parts.join(',')}]}`,
    );
    parts = [];
    size = 0;
  };
  for (const text of fits) {
    const bytes = Buffer.byteLength(text) + 1;
    if (parts.length > 0 && size + bytes > roomNow()) close();
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
