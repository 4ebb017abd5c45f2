/**
 * Which partitions a node should take or give up, from what it sees of the mesh: pure, so every node
 * that sees the same members and leases reaches the same plan. docs/distributed.md ("Ownership").
 */

/** A node's fair share: partitions split evenly over the live nodes sorted by id, the first ones get one more. */
export function shareOf(node: string, members: readonly string[], partitions: number): number {
  const sorted = [...new Set([...members, node])].sort();
  const index = sorted.indexOf(node);
  const base = Math.floor(partitions / sorted.length);
  return base + (index < partitions % sorted.length ? 1 : 0);
}

export type SharePlanInput = {
  readonly node: string;
  /** Live nodes of the mesh (this one is counted even before its own membership shows). */
  readonly members: readonly string[];
  readonly partitions: number;
  /** Partitions this node holds and is not handing off. */
  readonly owned: ReadonlySet<number>;
  /** Partitions whose lease anyone holds (this node's included), or that are being handed off. */
  readonly taken: ReadonlySet<number>;
};

export type SharePlan = {
  /** Free partitions to try to take, lowest first. */
  readonly acquire: readonly number[];
  /** Owned partitions to hand off, highest first. */
  readonly release: readonly number[];
};

/**
 * Above its share a node hands off its highest partitions; below it, it takes the lowest free ones.
 * Shares add up to the partition count, so once every live node has acted, every partition has an
 * owner and none has two.
 */
export function planShare(input: SharePlanInput): SharePlan {
  const share = shareOf(input.node, input.members, input.partitions);
  const owned = [...input.owned].sort((a, b) => a - b);
  if (owned.length > share) return { acquire: [], release: owned.slice(share).reverse() };
  const acquire: number[] = [];
  for (let p = 0; p < input.partitions && owned.length + acquire.length < share; p++) {
    if (!input.taken.has(p)) acquire.push(p);
  }
  return { acquire, release: [] };
}
