import { describe, expect, it } from 'vitest';
import { chunked, slim } from './cluster-feed.js';
import type { MeshEvent } from './events.js';

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
