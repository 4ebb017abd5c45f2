import { describe, expect, it } from 'vitest';
import { chunked } from './cluster-feed.js';
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
