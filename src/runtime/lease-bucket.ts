// Opening a mesh's partition leases: the options, the NATS connection, the lease bucket and this
// node's membership (src/runtime/partition-leases.ts uses them).
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { errorText } from '../envelope/index.js';
import { runtimeError } from './errors.js';
import { leaseBucketOf, memberKey } from './lease-names.js';
import { connectNats } from './nats-connect.js';
import type { PartitionLeaseOptions } from './partition-leases.js';

/** The broker refused a compare-and-set: the key is not at the revision given. */
export function isWrongRevision(cause: unknown): boolean {
  return (
    cause instanceof JetStreamApiError &&
    (cause.code === JetStreamApiCodes.StreamWrongLastSequence ||
      cause.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

export function checkLeaseOptions(
  opts: PartitionLeaseOptions,
  leaseMs: number,
  tickMs: number,
  marginMs: number,
): void {
  const problem =
    opts.mesh === ''
      ? 'the mesh name is empty'
      : !/^[A-Za-z0-9_-]{1,64}$/.test(opts.node)
        ? `node ${JSON.stringify(opts.node)} is not 1 to 64 letters, digits, - or _`
        : !Number.isInteger(opts.partitions) || opts.partitions < 1
          ? `partitions ${opts.partitions} is not a whole number from 1`
          : !(tickMs > 0 && marginMs > 0 && 2 * tickMs + marginMs < leaseMs)
            ? `leaseMs (${leaseMs}) must be more than two ticks (${tickMs} ms each) plus the margin (${marginMs} ms)`
            : undefined;
  if (problem !== undefined) throw runtimeError('MW_RUNTIME_LEASE_OPTIONS', { detail: problem });
}

export function connectForLeases(opts: PartitionLeaseOptions): Promise<NatsConnection> {
  return connectNats(opts.servers, `meshwarden ${opts.mesh} ${opts.node} leases`, 'MW_RUNTIME_LEASE_CONNECT');
}

/** The lease bucket, and the keys it holds now. */
export type LeaseBucket = {
  readonly kv: KV;
  /**
   * The keys whose latest value is a live one (not deleted, not expired). Not `kv.keys()`: that makes
   * a consumer on the broker each time, which outlives the listing by 5 minutes, so a node listing
   * every tick kept about 600 of them alive. Here: one stream info (the subjects present) and one
   * get per key, neither of which leaves anything behind. Keys `known` says are live (this node's own,
   * renewed by it) are taken as listed, without a get.
   */
  liveKeys(known?: (key: string) => boolean): Promise<string[]>;
};

export async function openLeaseBucket(
  nc: NatsConnection,
  mesh: string,
  leaseMs: number,
  tickMs: number,
): Promise<LeaseBucket> {
  const bucket = leaseBucketOf(mesh);
  let kv: KV;
  let recorded: number;
  // Requests time out within two ticks, so a cut never stalls the renewals for long.
  const timeout = Math.max(2 * tickMs, 1_000);
  const jsm = await jetstreamManager(nc, { timeout }).catch((cause: unknown) => {
    throw runtimeError('MW_RUNTIME_LEASE_BUCKET', { bucket, cause: errorText(cause) }, { cause });
  });
  try {
    const kvm = new Kvm(jetstream(nc, { timeout }));
    kv = await kvm.create(bucket, { ttl: leaseMs, history: 1 }).catch(() => kvm.open(bucket));
    recorded = (await kv.status()).ttl;
  } catch (cause) {
    throw runtimeError('MW_RUNTIME_LEASE_BUCKET', { bucket, cause: errorText(cause) }, { cause });
  }
  if (recorded !== leaseMs) throw runtimeError('MW_RUNTIME_LEASE_TIME', { bucket, recorded, leaseMs });
  const liveKeys = (known?: (key: string) => boolean) => liveKeysOf(jsm, kv, bucket, '>', known);
  return { kv, liveKeys };
}

/**
 * The keys of `bucket` under `filter` (a subject filter, `>` for all) whose latest value is a live
 * one: `LeaseBucket.liveKeys`, and what `cluster remove` reads of a mesh's members.
 */
export async function liveKeysOf(
  jsm: JetStreamManager,
  kv: KV,
  bucket: string,
  filter: string,
  known: (key: string) => boolean = () => false,
): Promise<string[]> {
  const prefix = `$KV.${bucket}.`;
  const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}${filter}` });
  const keys = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
  const live = await Promise.all(
    keys.map(async (key) => known(key) || (await kv.get(key))?.operation === 'PUT'),
  );
  return keys.filter((_, i) => live[i]);
}

/** Waits out the membership of an earlier process of this node id (a restart after a crash). */
export async function joinMembers(kv: KV, opts: PartitionLeaseOptions, waitMs: number): Promise<void> {
  const until = performance.now() + waitMs;
  const value = JSON.stringify({ node: opts.node });
  let told = false;
  for (;;) {
    try {
      await kv.create(memberKey(opts.node), value);
      return;
    } catch (cause) {
      if (!isWrongRevision(cause) && !(cause instanceof Error && /exist/i.test(cause.message))) {
        throw runtimeError('MW_RUNTIME_LEASE_BUCKET', {
          bucket: leaseBucketOf(opts.mesh),
          cause: errorText(cause),
        });
      }
      if (performance.now() >= until) {
        throw runtimeError('MW_RUNTIME_LEASE_NODE', { node: opts.node, mesh: opts.mesh, ms: waitMs });
      }
      if (!told) opts.onWaitingForMembership?.(Math.round(until - performance.now()));
      told = true;
      await sleep(100);
    }
  }
}
