import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { errorText, isMeshwardenError } from '../envelope/index.js';
import { postgresNameParts } from '../ledger/index.js';
import { identityParts } from './cluster-identity.js';
import { runtimeError } from './errors.js';
import { streamNameOf } from './jetstream-names.js';
import { descriptionParts, streamInfoOf } from './jetstream-stream.js';
import { liveKeysOf } from './lease-bucket.js';
import { leaseBucketOf, nodeOfMemberKey } from './lease-names.js';
import { connectNats, shownServers } from './nats-connect.js';

/** What removing a mesh's NATS state removed: its stream and lease bucket, as named on the broker. */
export type MeshRemoved = {
  readonly mesh: string;
  /** `MW_<mesh>`, when it was there. */
  readonly stream: string | undefined;
  /** `MW_LEASES_<mesh>`, the lease bucket (its stream `KV_MW_LEASES_<mesh>`), when it was there. */
  readonly bucket: string | undefined;
  /** Messages of work not yet done that the stream held, each of one or more items (discarded: only with `force`). */
  readonly discarded: number;
  /**
   * The ledger its stream records (`postgres:<database>/<schema>`), which stays in PostgreSQL; none
   * when the stream recorded none (made by a bus that names no ledger) or was not there.
   */
  readonly ledger?: { readonly name: string; readonly database: string; readonly schema: string };
};

/**
 * Removes a mesh's NATS state for good (docs/distributed.md, "Removing a mesh"): its stream
 * `MW_<mesh>` and its lease bucket. Refused while a node of the mesh is live (its membership in the
 * bucket: MW_RUNTIME_MESH_LIVE), and while the stream holds work not yet done unless `force`
 * (MW_RUNTIME_MESH_BACKLOG: that work would be lost); a mesh with neither on this NATS is
 * MW_RUNTIME_MESH_UNKNOWN (a misspelt name removes nothing). The ledger is left: it is the mesh's
 * record, and its schema is PostgreSQL's to drop.
 */
export async function removeMeshState(opts: {
  readonly servers: string;
  readonly mesh: string;
  readonly force?: boolean;
}): Promise<MeshRemoved> {
  const { mesh } = opts;
  const nc = await connectNats(opts.servers, `meshwarden remove ${mesh}`, 'MW_RUNTIME_BUS_CONNECT');
  try {
    const jsm = await jetstreamManager(nc);
    const stream = streamNameOf(mesh);
    const bucket = leaseBucketOf(mesh);
    const streamInfo = await streamInfoOf(jsm, stream);
    // A KV bucket is a stream of its own, `KV_<bucket>`.
    const bucketInfo = await streamInfoOf(jsm, `KV_${bucket}`);
    if (streamInfo === undefined && bucketInfo === undefined)
      throw runtimeError('MW_RUNTIME_MESH_UNKNOWN', { mesh, stream, servers: shownServers(opts.servers) });
    if (bucketInfo !== undefined) {
      const live = await liveNodes(jsm, nc, bucket);
      if (live.length > 0)
        throw runtimeError(
          'MW_RUNTIME_MESH_LIVE',
          { mesh, nodes: live.join(', ') },
          { details: { nodes: live } },
        );
    }
    const discarded = streamInfo?.state.messages ?? 0;
    if (discarded > 0 && opts.force !== true)
      throw runtimeError(
        'MW_RUNTIME_MESH_BACKLOG',
        { mesh, stream, messages: discarded },
        { details: { messages: discarded } },
      );
    if (streamInfo !== undefined) await jsm.streams.delete(stream);
    if (bucketInfo !== undefined) await jsm.streams.delete(`KV_${bucket}`);
    const ledger = recordedLedger(streamInfo?.config.description);
    return {
      mesh,
      stream: streamInfo === undefined ? undefined : stream,
      bucket: bucketInfo === undefined ? undefined : bucket,
      discarded: streamInfo === undefined ? 0 : discarded,
      ...(ledger === undefined ? {} : { ledger }),
    };
  } catch (err) {
    if (isMeshwardenError(err)) throw err;
    throw runtimeError('MW_RUNTIME_MESH_REMOVE', { mesh, cause: errorText(err) }, { cause: err });
  } finally {
    await nc.close().catch(() => {});
  }
}

/** The ledger a cluster node recorded in the stream's description (cluster-identity.ts). */
function recordedLedger(description: string | undefined): MeshRemoved['ledger'] {
  const name = identityParts(descriptionParts(description ?? '').identity)?.ledger;
  if (name === undefined) return undefined;
  const parts = postgresNameParts(name);
  return parts === undefined ? undefined : { name, ...parts };
}

/** The nodes whose membership key is live in the lease bucket, as the leases list them. */
async function liveNodes(jsm: JetStreamManager, nc: Parameters<typeof jetstream>[0], bucket: string) {
  const kv = await new Kvm(jetstream(nc)).open(bucket);
  const keys = await liveKeysOf(jsm, kv, bucket, 'n.>');
  return [...new Set(keys.flatMap((key) => nodeOfMemberKey(key) ?? []))].sort();
}
