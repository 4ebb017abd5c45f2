import { describe, expect, it } from 'vitest';
import { fitted, type NodeStatus, unownedPartitions, whoDecides } from './cluster-control.js';
import { zeroCounts } from './events.js';
import type { HoldView } from './holds.js';

const hold = (i: number) =>
  ({ msgId: `m${i}`, heldAt: i, envelope: { data: { note: 'x'.repeat(200) } } }) as unknown as HoldView;
const status = (n: number): NodeStatus => ({
  node: 'a',
  owned: [0, 1],
  busy: 0,
  counts: zeroCounts(),
  held: Array.from({ length: n }, (_, i) => hold(i)),
  heldTotal: n,
  breakers: [],
});

describe("a node's status fits one NATS message", () => {
  it('is sent whole when it fits', () => {
    expect(JSON.parse(fitted(status(3), 10_000))).toEqual({ ok: status(3) });
  });

  it('keeps the oldest holds that fit, and the true count, when there are too many', () => {
    const text = fitted(status(100), 4_096);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4_096);
    const { ok } = JSON.parse(text) as { ok: NodeStatus };
    expect(ok.heldTotal).toBe(100);
    expect(ok.held.length).toBeGreaterThan(0);
    expect(ok.held.length).toBeLessThan(100);
    expect(ok.held.map((h) => h.msgId)).toEqual(
      status(100)
        .held.slice(0, ok.held.length)
        .map((h) => h.msgId),
    );
  });
});

describe('partitions no live node owns', () => {
  it('are named beside a mesh-wide list, so that it never reads as empty', () => {
    const node = (name: string, owned: number[]) => ({ node: name, owned }) as unknown as NodeStatus;
    expect(unownedPartitions([node('a', [0, 3]), node('b', [1])], 4)).toEqual([2]);
    expect(unownedPartitions([node('a', [0, 1, 2, 3])], 4)).toEqual([]);
    expect(unownedPartitions([], 2)).toEqual([0, 1]);
  });
});

describe('where a pilot’s answer to a hold goes', () => {
  const act = { pilot: 'ana', reason: 'x' };
  const node = (name: string, owned: number[], held: string[] = []) =>
    ({
      ...status(0),
      node: name,
      owned,
      held: held.map((id, i) => ({ ...hold(i), msgId: id })),
      heldTotal: held.length,
    }) as NodeStatus;

  it('to the node that lists it', () => {
    const nodes = [node('a', [0], ['m1']), node('b', [1])];
    expect(whoDecides(nodes, { action: 'approve', msgId: 'm1', act }, 2)).toEqual(['a']);
  });

  it('is not held when every partition answered and none lists it', () => {
    const nodes = [node('a', [0]), node('b', [1])];
    expect(whoDecides(nodes, { action: 'reject', msgId: 'm1', act }, 2)).toMatchObject({
      code: 'MW_PILOT_NOT_HELD',
    });
  });

  it('is not said "not held" while a partition has no node that answered (a slow node, a hand-over)', () => {
    const nodes = [node('a', [0])];
    expect(whoDecides(nodes, { action: 'approve', msgId: 'm1', act }, 2)).toMatchObject({
      code: 'MW_RUNTIME_PARTITION_ELSEWHERE',
    });
  });
});
