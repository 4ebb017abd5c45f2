import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { runtimeError } from './errors.js';
import { consumerNameOf, meshSubjects, streamNameOf } from './jetstream-names.js';

// The JetStream bus's dealings with the stream itself, through the manager API: making or binding
// the mesh's stream, and reading how far a partition's consumer acked.

/** Creates the mesh's stream, or binds the one another node created (the same config is a no-op). */
export async function ensureStream(
  jsm: JetStreamManager,
  // What the bus's options say of its stream (JetStreamBusOptions): named here, not imported, so
  // this module does not import the bus that imports it.
  opts: { readonly mesh: string; readonly duplicateWindowMs?: number; readonly identity?: string },
): Promise<void> {
  const name = streamNameOf(opts.mesh);
  const subjects = meshSubjects(opts.mesh);
  try {
    const { config } = await jsm.streams.info(name);
    // Made by something else: the bus would publish where no one listens, or keep acked items.
    if (config.retention !== RetentionPolicy.Workqueue || !config.subjects?.includes(subjects))
      throw new Error(`the stream exists, and is not a work queue on ${subjects}`);
    const recorded = config.description ?? '';
    if (opts.identity !== undefined && recorded !== '' && recorded !== opts.identity) {
      throw runtimeError(
        'MW_RUNTIME_CLUSTER_MISMATCH',
        { mesh: opts.mesh, recorded, identity: opts.identity },
        { details: { recorded, identity: opts.identity } },
      );
    }
    return;
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
  }
  await jsm.streams.add({
    name,
    subjects: [subjects],
    // Work queue: an acked item is gone, so the stream holds only work not yet done.
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: nanos(opts.duplicateWindowMs ?? 120_000),
    ...(opts.identity === undefined ? {} : { description: opts.identity }),
  });
}

/** A stream's info, or undefined when the broker has no stream of that name. */
export async function streamInfoOf(jsm: JetStreamManager, name: string) {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return undefined;
    throw err;
  }
}

export function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/**
 * Up to which stream sequence a partition's items are done. A consumer recreated on a takeover starts
 * with an ack floor of 0 while everything before it is done (a work queue keeps only what is not):
 * with nothing pending, what it delivered is the floor.
 */
export async function ackFloorOf(jsm: JetStreamManager, stream: string, partition: number): Promise<number> {
  const info = await jsm.consumers.info(stream, consumerNameOf(partition));
  return info.num_pending === 0 && info.num_ack_pending === 0
    ? Math.max(info.ack_floor.stream_seq, info.delivered.stream_seq)
    : info.ack_floor.stream_seq;
}
