import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { errorText, type MeshwardenError } from '../envelope/index.js';
import { runtimeError } from './errors.js';
import {
  checkLeaseOptions,
  connectForLeases,
  isWrongRevision,
  joinMembers,
  type LeaseBucket,
  openLeaseBucket,
} from './lease-bucket.js';
import { memberKey, nodeOfMemberKey, partitionKey, partitionOfKey } from './lease-names.js';
import type { LeaseLossReason, OwnedLease, PartitionLeaseOptions, PartitionLeases } from './lease-types.js';
import { type LeaseWake, listenForLeaseChanges } from './lease-wake.js';
import { planShare } from './partition-shares.js';

export type { LeaseLossReason, OwnedLease, PartitionLeaseOptions, PartitionLeases } from './lease-types.js';

type Held = {
  epoch: number;
  revision: number;
  deadline: number;
  handingOff: boolean;
  /** The renewal in flight, if any: it moves the key's revision, so a release waits for it. */
  renewing?: Promise<unknown>;
};

type Ctx = {
  readonly opts: PartitionLeaseOptions;
  readonly kv: KV;
  readonly liveKeys: LeaseBucket['liveKeys'];
  readonly leaseMs: number;
  readonly tickMs: number;
  readonly marginMs: number;
  readonly held: Map<number, Held>;
  readonly handOffs: Set<Promise<void>>;
  /** Ends the pause between ticks when another node changed the bucket (lease-wake.ts). */
  readonly wake: LeaseWake;
  members: string[];
  unowned: number; // partitions no live lease held at the last listing
  stopping: boolean;
};

/**
 * Joins the mesh's partition leases on NATS KV (docs/distributed.md, "Ownership"): this node keeps a
 * membership key alive, takes free partitions up to its share, hands off those above it, renews what
 * it owns every tick, and stops owning a partition by itself `marginMs` before the broker would let
 * another node take it. Rejects with `MW_RUNTIME_LEASE_*` when NATS, the bucket or the id are unusable.
 */
export async function joinPartitionLeases(opts: PartitionLeaseOptions): Promise<PartitionLeases> {
  const leaseMs = opts.leaseMs ?? 5_000;
  const tickMs = opts.tickMs ?? 500;
  const marginMs = opts.marginMs ?? 1_500;
  checkLeaseOptions(opts, leaseMs, tickMs, marginMs);
  const nc = opts.connection ?? (await connectForLeases(opts));
  try {
    const { kv, liveKeys } = await openLeaseBucket(nc, opts.mesh, leaseMs, tickMs);
    const ctx: Ctx = {
      opts,
      kv,
      liveKeys,
      leaseMs,
      tickMs,
      marginMs,
      held: new Map(),
      handOffs: new Set(),
      wake: listenForLeaseChanges(nc, opts.mesh, opts.node),
      members: [],
      unowned: opts.partitions,
      stopping: false,
    };
    try {
      await joinMembers(kv, opts, leaseMs + 2 * tickMs);
    } catch (error) {
      ctx.wake.close();
      throw error;
    }
    void ctx.wake.tell(); // a node joined: the others hand its share over now, not at their next tick
    return startLeases(ctx, nc, opts.connection === undefined);
  } catch (error) {
    if (opts.connection === undefined) await nc.close().catch(() => {});
    throw error;
  }
}

function startLeases(ctx: Ctx, nc: NatsConnection, ownConnection: boolean): PartitionLeases {
  let ended: MeshwardenError | undefined;
  const loop = runTicks(ctx);
  const watch = setInterval(() => expireLapsed(ctx), Math.min(100, ctx.tickMs / 2));
  void nc.closed().then((cause) => {
    if (ctx.stopping) return;
    ended = runtimeError('MW_RUNTIME_LEASE_CONNECTION', { cause: errorText(cause ?? 'closed') });
    ctx.stopping = true;
    for (const partition of [...ctx.held.keys()]) {
      ctx.held.delete(partition);
      callLose(ctx, partition, 'connection'); // a second call during a hand-off: stop now
    }
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      ctx.stopping = true;
      for (const partition of ctx.held.keys()) handOff(ctx, partition, 'closed');
      while (ctx.handOffs.size > 0) await Promise.all(ctx.handOffs);
      ctx.wake.wake(); // the loop ends now, not after its pause
      await loop;
      clearInterval(watch);
      if (ended === undefined) {
        await ctx.kv.delete(memberKey(ctx.opts.node)).catch(() => {});
        await ctx.wake.tell(Math.max(2 * ctx.tickMs, 1_000)); // out before the connection closes
      }
      ctx.wake.close();
      if (ownConnection) await nc.close().catch(() => {});
    })();
    return closing;
  };
  const closed = new Promise<void | Error>((resolve) => {
    void nc.closed().then(() => {
      if (ended !== undefined) void close().then(() => resolve(ended));
    });
    void loop.then(() => closing?.then(() => resolve(ended)));
  });
  return {
    node: ctx.opts.node,
    owned: () => ownedNow(ctx),
    members: () => [...ctx.members],
    unowned: () => ctx.unowned,
    close,
    [Symbol.asyncDispose]: close,
    closed,
  };
}

function ownedNow(ctx: Ctx): OwnedLease[] {
  const now = performance.now();
  const wall = Date.now();
  return [...ctx.held]
    .filter(([, lease]) => !lease.handingOff && lease.deadline > now)
    .map(([partition, lease]) => ({ partition, epoch: lease.epoch, validUntil: wall + lease.deadline - now }))
    .sort((a, b) => a.partition - b.partition);
}

/** One tick at a time: renew, look at the mesh, take or hand off. A slow tick delays the next one. */
async function runTicks(ctx: Ctx): Promise<void> {
  while (!ctx.stopping || ctx.handOffs.size > 0) {
    const started = performance.now();
    await renew(ctx);
    if (!ctx.stopping) await rebalance(ctx);
    await ctx.wake.pause(Math.max(0, ctx.tickMs - (performance.now() - started)));
  }
}

/** Membership first, so that a dead node's membership lapses before its leases do. */
async function renew(ctx: Ctx): Promise<void> {
  const sent = performance.now();
  try {
    await ctx.kv.put(memberKey(ctx.opts.node), JSON.stringify({ node: ctx.opts.node }));
  } catch (cause) {
    reportError(
      ctx,
      runtimeError('MW_RUNTIME_LEASE_RENEW', { what: 'its membership', cause: errorText(cause) }),
    );
    return; // the broker is not answering: the leases' deadlines decide
  }
  await Promise.all(
    [...ctx.held].map(async ([partition, lease]) => {
      try {
        const value = leaseValue(ctx, lease.epoch);
        const update = ctx.kv.update(partitionKey(partition), value, lease.revision);
        lease.renewing = update.catch(() => {});
        // The key's revision now, whatever became of the lease: a hand-off's release deletes at it.
        lease.revision = await update;
        if (ctx.held.get(partition) !== lease) return; // lapsed or handed off meanwhile
        lease.deadline = sent + ctx.leaseMs - ctx.marginMs;
      } catch (cause) {
        if (!isWrongRevision(cause)) {
          const what = `the lease of partition ${partition}`;
          reportError(ctx, runtimeError('MW_RUNTIME_LEASE_RENEW', { what, cause: errorText(cause) }));
        } else if (ctx.held.get(partition) === lease && !(await stillOurs(ctx, partition, lease))) {
          ctx.held.delete(partition);
          callLose(ctx, partition, 'taken'); // a second call during a hand-off: stop now
        }
      }
    }),
  );
}

/**
 * A renewal whose answer was lost still changed the revision: if the key still holds this ownership
 * (node and epoch), take up its revision; the deadline stays, as that write's time is unknown.
 */
async function stillOurs(ctx: Ctx, partition: number, lease: Held): Promise<boolean> {
  try {
    const entry = await ctx.kv.get(partitionKey(partition));
    if (entry === null || entry.operation !== 'PUT') return false;
    const value = entry.json<{ node?: string; epoch?: number }>();
    if (value.node !== ctx.opts.node || value.epoch !== lease.epoch) return false;
    lease.revision = entry.revision;
    return true;
  } catch {
    return false; // cannot tell: give it up, the safe side
  }
}

async function rebalance(ctx: Ctx): Promise<void> {
  const members = new Set<string>();
  const taken = new Set<number>();
  let abandoned = false;
  const listed = async () => {
    // This node's own keys are live: it renews them (and counts them below whatever the listing says).
    const own = new Set([memberKey(ctx.opts.node), ...[...ctx.held.keys()].map(partitionKey)]);
    const keys = await ctx.liveKeys((key) => own.has(key));
    if (abandoned) return false;
    for (const key of keys) {
      const node = nodeOfMemberKey(key);
      if (node !== undefined) members.add(node);
      const partition = partitionOfKey(key);
      if (partition !== undefined) taken.add(partition);
    }
    return true;
  };
  // A listing cut off mid-way must not stall the ticks (and so the renewals) for good.
  const timeout = sleep(Math.max(2 * ctx.tickMs, 1_000), false, { ref: false });
  if (!(await Promise.race([listed().catch(() => false), timeout]))) {
    abandoned = true; // try again next tick
    return;
  }
  members.add(ctx.opts.node);
  for (const node of ctx.members) if (!members.has(node)) void tellGone(ctx, node);
  ctx.members = [...members].sort();
  const owned = new Set<number>();
  for (const [partition, lease] of ctx.held) {
    taken.add(partition);
    if (!lease.handingOff) owned.add(partition);
  }
  ctx.unowned = Math.max(0, ctx.opts.partitions - taken.size);
  const plan = planShare({
    node: ctx.opts.node,
    members: ctx.members,
    partitions: ctx.opts.partitions,
    owned,
    taken,
  });
  for (const partition of plan.release) handOff(ctx, partition, 'rebalance');
  await Promise.all(plan.acquire.map((partition) => acquire(ctx, partition)));
}

async function acquire(ctx: Ctx, partition: number): Promise<void> {
  let revision: number;
  let epoch: number;
  // A released lease leaves a delete marker (for a lease time), a lapsed one nothing; unread: unknown.
  const before = await ctx.kv.get(partitionKey(partition)).catch(() => undefined);
  const handedOff =
    before === undefined ? undefined : before?.operation === 'DEL' || before?.operation === 'PURGE';
  let sent = performance.now();
  try {
    // The epoch is the revision this write gets, so it is written in the first renewal.
    revision = await ctx.kv.create(partitionKey(partition), leaseValue(ctx, 0));
    epoch = revision;
  } catch {
    // Another node was first, the broker is not answering, or this create's answer was lost.
    const created = await createdAnyway(ctx, partition);
    if (created === undefined) return;
    ({ epoch, revision, sent } = created);
  }
  const deadline = sent + ctx.leaseMs - ctx.marginMs;
  if (ctx.stopping || performance.now() >= deadline) {
    await ctx.kv.delete(partitionKey(partition), { previousSeq: revision }).catch(() => {});
    return;
  }
  ctx.held.set(partition, { epoch, revision, deadline, handingOff: false });
  try {
    ctx.opts.onAcquire(partition, epoch, { handedOff });
  } catch (cause) {
    reportCallback(ctx, 'onAcquire', partition, cause);
  }
}

/**
 * A create whose answer was lost left this node's lease (epoch still 0) that nobody renews: read it
 * back and renew it at once (writing the epoch, the create's revision), as its write time is unknown.
 */
async function createdAnyway(
  ctx: Ctx,
  partition: number,
): Promise<{ epoch: number; revision: number; sent: number } | undefined> {
  try {
    const entry = await ctx.kv.get(partitionKey(partition));
    if (entry === null || entry.operation !== 'PUT') return undefined;
    const value = entry.json<{ node?: string; epoch?: number }>();
    if (value.node !== ctx.opts.node || value.epoch !== 0) return undefined;
    const sent = performance.now();
    const key = partitionKey(partition);
    const revision = await ctx.kv.update(key, leaseValue(ctx, entry.revision), entry.revision);
    return { epoch: entry.revision, revision, sent };
  } catch {
    return undefined; // cannot tell, or someone else moved it: leave it to lapse
  }
}

/** Stop first (await `onLose`), then release: the next owner starts only after this one stopped. */
function handOff(ctx: Ctx, partition: number, reason: 'rebalance' | 'closed'): void {
  const lease = ctx.held.get(partition);
  if (lease === undefined || lease.handingOff) return;
  lease.handingOff = true;
  const done = (async () => {
    try {
      await ctx.opts.onLose(partition, reason);
    } catch (cause) {
      reportCallback(ctx, 'onLose', partition, cause);
    }
    if (ctx.held.get(partition) !== lease) return; // lapsed while draining: nothing to release
    ctx.held.delete(partition);
    await release(ctx, partition, lease);
  })();
  ctx.handOffs.add(done);
  void done.then(() => ctx.handOffs.delete(done));
}

/**
 * Deletes a handed-off lease, so that the next owner need not wait for it to run out: at this node's
 * revision of the key, after the renewal in flight if any (it moves the revision), and once more
 * after reading the key back when refused all the same (a renewal's answer lost).
 */
async function release(ctx: Ctx, partition: number, lease: Held): Promise<void> {
  await lease.renewing;
  const key = partitionKey(partition);
  let cause: unknown;
  for (let tries = 0; tries < 2; tries++) {
    try {
      await ctx.kv.delete(key, { previousSeq: lease.revision });
      void ctx.wake.tell(); // the next owner takes it now, not at its next tick
      return;
    } catch (err) {
      cause = err;
      if (!isWrongRevision(err) || !(await stillOurs(ctx, partition, lease))) break;
    }
  }
  // Still its own lease, the broker refusing or not answering: the next owner waits for it to lapse.
  if (!isWrongRevision(cause)) {
    const error = { partition, ms: ctx.leaseMs, cause: errorText(cause) };
    reportError(ctx, runtimeError('MW_RUNTIME_LEASE_RELEASE', error));
  }
}

/**
 * A lease whose renewals did not get through in time is given up here, before the broker's expiry.
 * One lapsing during a hand-off gets a second `onLose(p, 'expired')` (as one taken or cut off does):
 * its drain must stop committing now, as another node may take the partition once the broker frees it.
 */
function expireLapsed(ctx: Ctx): void {
  const now = performance.now();
  for (const [partition, lease] of [...ctx.held]) {
    if (lease.deadline > now) continue;
    ctx.held.delete(partition);
    callLose(ctx, partition, 'expired');
  }
}

function callLose(ctx: Ctx, partition: number, reason: LeaseLossReason): void {
  try {
    const result = ctx.opts.onLose(partition, reason);
    if (result !== undefined) void result.catch((cause) => reportCallback(ctx, 'onLose', partition, cause));
  } catch (cause) {
    reportCallback(ctx, 'onLose', partition, cause);
  }
}

/** How a node seen live is gone: its membership released (it left), or run out (it lapsed). */
async function tellGone(ctx: Ctx, node: string): Promise<void> {
  if (ctx.opts.onMemberGone === undefined) return;
  const entry = await ctx.kv.get(memberKey(node)).catch(() => undefined);
  // Unread, back already (a restart under the same id), or this node is leaving: nothing to tell.
  if (entry === undefined || entry?.operation === 'PUT' || ctx.stopping) return;
  try {
    ctx.opts.onMemberGone(node, { lapsed: entry === null });
  } catch (cause) {
    const error = { node, cause: errorText(cause) };
    reportError(ctx, runtimeError('MW_RUNTIME_LEASE_MEMBER_CALLBACK', error, { cause }));
  }
}

function reportCallback(ctx: Ctx, callback: string, partition: number, cause: unknown): void {
  const error = { callback, partition, cause: errorText(cause) };
  reportError(ctx, runtimeError('MW_RUNTIME_LEASE_CALLBACK', error, { cause }));
}

function reportError(ctx: Ctx, error: MeshwardenError): void {
  try {
    ctx.opts.onError?.(error);
  } catch {
    // a failing error sink must not stop the renewals
  }
}

const leaseValue = (ctx: Ctx, epoch: number) => JSON.stringify({ node: ctx.opts.node, epoch });
