import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  type ClusterFeed,
  chunked,
  type DecisionCount,
  FOLLOW_MS,
  openClusterFeed,
  slim,
} from './cluster-feed.js';
import type { MeshEvent } from './events.js';
import { SERVERS } from './jetstream-test-kit.js';

const delivered = (i: number, agent = 'churn'): MeshEvent => ({
  type: 'delivered',
  at: 1_000 + i,
  msgId: `m${i}`,
  correlationid: 'c',
  agent,
  emitted: [],
});

type Batch = { node: string; dropped: number; events: MeshEvent[] };
const parse = (chunks: string[]) => chunks.map((c) => JSON.parse(c) as Batch);

describe('the cluster feed splits a batch into messages the broker takes', () => {
  it('keeps a small batch in one message, with what was dropped', () => {
    const [batch, ...rest] = parse(chunked([delivered(1), delivered(2)], 'a', 3, 10_000));
    expect(rest).toEqual([]);
    expect(batch).toEqual({ node: 'a', dropped: 3, events: [delivered(1), delivered(2)] });
  });

  it('splits a big batch in order, every message under the bound, dropped counted once', () => {
    const events = Array.from({ length: 500 }, (_, i) => delivered(i));
    const chunks = chunked(events, 'a', 2, 4_096);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(Buffer.byteLength(chunk)).toBeLessThanOrEqual(4_096);
    const batches = parse(chunks);
    expect(batches.flatMap((b) => b.events)).toEqual(events);
    expect(batches.map((b) => b.dropped)).toEqual([2, ...Array(chunks.length - 1).fill(0)]);
  });

  it('counts an event too big for any message as dropped, and sends an empty batch for drops alone', () => {
    const huge = delivered(1, 'x'.repeat(5_000));
    const [batch] = parse(chunked([huge, delivered(2)], 'a', 0, 4_096));
    expect(batch).toEqual({ node: 'a', dropped: 1, events: [delivered(2)] });
    expect(parse(chunked([], 'a', 7, 4_096))).toEqual([{ node: 'a', dropped: 7, events: [] }]);
  });
});

describe('the cluster feed times its counts', () => {
  const counts: DecisionCount[] = [
    { source: 's', type: 't', second: 5, counts: { deliver: 1, deny: 0, hold: 0, quarantine: 0 } },
  ];
  it('sends the clock with the counts, and no time that is not a number', () => {
    expect(JSON.parse(chunked([], 'a', 0, 4_096, counts, 1_234.6)[0]!)).toMatchObject({
      sentAt: 1_235,
      counts,
    });
    for (const sentAt of [Number.NaN, Number.POSITIVE_INFINITY, undefined]) {
      const [batch] = parse(chunked([], 'a', 0, 4_096, counts, sentAt));
      expect(batch).toEqual({ node: 'a', dropped: 0, counts, events: [] });
    }
  });
});

describe('the cluster feed sends what the feed shows', () => {
  it("keeps a decision's verdict and its envelope's identity, not its payload or trace", () => {
    const envelope = {
      specversion: '1.0',
      id: 'm1',
      source: 'mesh://retention/churn@2.0.1',
      type: 'churn.assessed.v1',
      time: '2026-12-03T00:00:00.000Z',
      subject: 'account:1',
      hop: 2,
      correlationid: 'c',
      data: { secret: 'payload' },
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    };
    const verdict = { decision: 'deliver', stage: 'gate', reason: 'gate.admitted' } as const;
    const event = {
      type: 'decision',
      at: 1,
      msgId: 'm1',
      gated: 'message',
      verdict,
      envelope,
    } as unknown as MeshEvent;
    expect(slim(event)).toEqual({
      type: 'decision',
      at: 1,
      msgId: 'm1',
      gated: 'message',
      verdict,
      envelope: {
        id: 'm1',
        source: envelope.source,
        type: envelope.type,
        subject: 'account:1',
        time: envelope.time,
        hop: 2,
        data: null,
      },
    });
  });

  it("drops an effect's result", () => {
    const event: MeshEvent = {
      type: 'effect-executed',
      at: 1,
      msgId: 'm',
      effect: 'credit.issue',
      subject: 's',
      result: { ok: 1 },
    };
    expect(slim(event)).toEqual({
      type: 'effect-executed',
      at: 1,
      msgId: 'm',
      effect: 'credit.issue',
      subject: 's',
    });
  });
});

const decision = (i: number, decided: 'deliver' | 'hold' = 'deliver'): MeshEvent =>
  ({
    type: 'decision',
    at: 1_796_000_000_000 + i,
    msgId: `d${i}`,
    gated: 'message',
    verdict: { decision: decided, stage: 'gate', reason: 'gate.admitted' },
    envelope: { id: `d${i}`, source: 'mesh://m/feed', type: 'step.one.v1', subject: 's', hop: 0, data: {} },
  }) as unknown as MeshEvent;

const alert: MeshEvent = {
  type: 'alert',
  at: 1,
  alert: 'predicate_error',
  msgId: 'h1',
  rule: 'big-credit',
  reason: 'approval.predicate_error',
  detail: 'the predicate failed',
};

/** Polls `found` every 20 ms until it gives something, for at most 5 s. */
async function eventually<T>(found: () => T | undefined, what: string): Promise<T> {
  for (const end = Date.now() + 5_000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
    const value = found();
    if (value !== undefined) return value;
  }
  throw new Error(`not seen in 5 s: ${what}`);
}

/** A node's feed on a connection of its own, fed by `emit`; closed when the test ends. */
async function feedOf(mesh: string, node: string, now?: () => number) {
  const nc = await connect({ servers: SERVERS });
  const local = new Set<(event: MeshEvent) => void>();
  const feed: ClusterFeed = openClusterFeed({
    connection: nc,
    meshName: mesh,
    node,
    onLocalEvent: (listener) => {
      local.add(listener);
      return () => local.delete(listener);
    },
    onError: (err) => {
      throw err;
    },
    ...(now === undefined ? {} : { now }),
  });
  const events: [MeshEvent, string][] = [];
  const counts: [DecisionCount, string][] = [];
  feed.onEvent((event, from) => events.push([event, from]));
  feed.onCounts((list, from) => counts.push(...list.map((c): [DecisionCount, string] => [c, from])));
  onTestFinished(async () => {
    feed.close();
    await nc.close();
  });
  await nc.flush();
  const emit = (event: MeshEvent) => {
    for (const listener of local) listener(event);
  };
  return { feed, events, counts, emit };
}

describe('the cluster feed sends counts and alerts always, every event only while a node follows', () => {
  it("counts another node's decisions per edge and second, and passes its alerts, without its events", async () => {
    const mesh = `feed-${randomUUID().slice(0, 8)}`;
    const a = await feedOf(mesh, 'a');
    const b = await feedOf(mesh, 'b');
    a.emit(decision(1));
    a.emit(decision(2));
    a.emit(decision(3, 'hold'));
    a.emit(alert);
    const [counted] = await eventually(() => b.counts.at(0), 'counts on b');
    expect(b.counts).toHaveLength(1);
    expect(counted).toEqual({
      source: 'mesh://m/feed',
      type: 'step.one.v1',
      second: 1_796_000_000,
      counts: { deliver: 2, deny: 0, hold: 1, quarantine: 0 },
    });
    expect(b.counts[0]![1]).toBe('a');
    // The alert travels; the decisions only as counts. Node a saw its own events at once.
    expect(b.events).toEqual([[alert, 'a']]);
    expect(a.events.map(([e, from]) => [e.type, from])).toEqual([
      ['decision', 'a'],
      ['decision', 'a'],
      ['decision', 'a'],
      ['alert', 'a'],
    ]);
  });

  it("moves another node's counts onto this node's clock, whether that node's runs ahead or behind", async () => {
    const mesh = `feed-${randomUUID().slice(0, 8)}`;
    const ahead = await feedOf(mesh, 'ahead', () => Date.now() + 90_000);
    const behind = await feedOf(mesh, 'behind', () => Date.now() - 30_000);
    const near = await feedOf(mesh, 'near', () => Date.now() + 1_500);
    const b = await feedOf(mesh, 'b');
    ahead.emit(decision(1));
    behind.emit(decision(2));
    near.emit(decision(3));
    await eventually(() => (b.counts.length === 3 ? b.counts : undefined), 'the three nodes’ counts on b');
    const seconds = Object.fromEntries(b.counts.map(([c, from]) => [from, c.second]));
    // Each decision's second, told by its node's clock, less that clock's lead on b's; under 2 s
    // apart, the batch's way across for all b can tell, it stays as told.
    expect(seconds).toEqual({ ahead: 1_796_000_000 - 90, behind: 1_796_000_000 + 30, near: 1_796_000_000 });
  });

  it('sends alerts past the cap a busy batch puts on every other event', async () => {
    const mesh = `feed-${randomUUID().slice(0, 8)}`;
    const a = await feedOf(mesh, 'a');
    const b = await feedOf(mesh, 'b');
    const stop = b.feed.follow();
    await eventually(() => {
      a.emit(decision(0));
      return b.events.find(([e]) => e.type === 'decision');
    }, "a's decision on b");
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 1; i <= 2_500; i++) a.emit(decision(i));
    a.emit(alert);
    await eventually(() => b.events.find(([e]) => e.type === 'alert'), 'the alert on b');
    expect(a.feed.dropped()).toBeGreaterThan(0);
    stop();
  });

  it('counts the decisions of a node of an earlier version, which sends them without counts', async () => {
    const mesh = `feed-${randomUUID().slice(0, 8)}`;
    const b = await feedOf(mesh, 'b');
    const old = await connect({ servers: SERVERS });
    onTestFinished(() => old.close());
    const batch = { node: 'old', dropped: 0, events: [decision(1), decision(2, 'hold'), alert] };
    old.publish(`mw.${mesh}.events`, JSON.stringify(batch));
    await eventually(() => b.counts.at(0), 'counts on b');
    expect(b.counts).toEqual([
      [
        {
          source: 'mesh://m/feed',
          type: 'step.one.v1',
          second: 1_796_000_000,
          counts: { deliver: 1, deny: 0, hold: 1, quarantine: 0 },
        },
        'old',
      ],
    ]);
    expect(b.events.map(([e, from]) => [e.type, from])).toEqual([
      ['decision', 'old'],
      ['decision', 'old'],
      ['alert', 'old'],
    ]);
  });

  it('sends every event while another node follows, and stops once it has not said so for three intervals', async () => {
    const mesh = `feed-${randomUUID().slice(0, 8)}`;
    let clock = Date.now();
    const a = await feedOf(mesh, 'a', () => clock);
    const b = await feedOf(mesh, 'b');
    const stop = b.feed.follow();
    // Node a hears that b follows, then sends b its decisions as well as their counts.
    await eventually(() => {
      a.emit(decision(10));
      return b.events.find(([e]) => e.type === 'decision');
    }, "a's decision on b");
    expect(b.events.at(-1)![1]).toBe('a');
    // Decisions the wait emitted meanwhile may still be in a's next batch (100 ms).
    await new Promise((r) => setTimeout(r, 300));
    stop();
    clock += 3 * FOLLOW_MS + 1;
    const seen = b.events.length;
    a.emit(decision(11));
    a.emit(alert);
    await eventually(() => b.events.find(([e]) => e.type === 'alert'), 'the alert on b');
    expect(b.events.slice(seen).map(([e]) => e.type)).toEqual(['alert']);
    expect(b.counts.length).toBeGreaterThan(0);
  });
});
