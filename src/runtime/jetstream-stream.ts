import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { runtimeError } from './errors.js';
import { consumerNameOf, meshSubjects, streamNameOf } from './jetstream-names.js';

// The JetStream bus's dealings with the stream itself, through the manager API: making or binding
// the mesh's stream, and reading how far a partition's consumer acked.

/**
 * What a stream's consumers must read: 1, one item a message; 2, also several items packed in one
 * (jetstream-pack.ts). The stream records it, after the mesh's identity, as `; wire 2`; a stream that
 * records none is 1 (made before packing, or by a bus that does not pack).
 */
export const WIRE = 2;

/**
 * Creates the mesh's stream, or binds the one another node created (the same config is a no-op).
 * Resolves with the stream's wire: what this bus may write there. `packs`: a stream made here is
 * recorded as wire 2, so that a node too old to read packed messages is refused rather than joined
 * (its identity is compared whole, and differs).
 */
export async function ensureStream(
  jsm: JetStreamManager,
  // What the bus's options say of its stream (JetStreamBusOptions): named here, not imported, so
  // this module does not import the bus that imports it.
  opts: { readonly mesh: string; readonly duplicateWindowMs?: number; readonly identity?: string },
  packs: boolean,
): Promise<number> {
  const name = streamNameOf(opts.mesh);
  const description = [opts.identity, packs ? `wire ${WIRE}` : undefined].filter(
    (part) => part !== undefined,
  );
  // Twice at most: a node that made it first with another wire (an older one) is bound, not fought.
  for (let attempt = 1; ; attempt++) {
    const info = await streamInfoOf(jsm, name);
    if (info !== undefined) return boundWire(info.config, opts);
    try {
      await jsm.streams.add({
        name,
        subjects: [meshSubjects(opts.mesh)],
        // Work queue: an acked item is gone, so the stream holds only work not yet done.
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        duplicate_window: nanos(opts.duplicateWindowMs ?? 120_000),
        ...(description.length === 0 ? {} : { description: description.join('; ') }),
      });
      // Made here, or by a node with the same config at the same time (a no-op): what it records.
      return packs ? WIRE : 1;
    } catch (err) {
      if (attempt > 1 || !isApiError(err, STREAM_NAME_IN_USE)) throw err;
    }
  }
}

/** The JetStream API's error for a stream made meanwhile with another config. */
const STREAM_NAME_IN_USE = 10058;

/** The wire of an existing stream of the mesh, once it is known to be the mesh's; else it throws. */
function boundWire(
  config: StreamConfig,
  opts: { readonly mesh: string; readonly identity?: string },
): number {
  const subjects = meshSubjects(opts.mesh);
  // Made by something else: the bus would publish where no one listens, or keep acked items.
  if (config.retention !== RetentionPolicy.Workqueue || !config.subjects?.includes(subjects))
    throw new Error(`the stream exists, and is not a work queue on ${subjects}`);
  const { identity: recorded, wire } = descriptionParts(config.description ?? '');
  if (opts.identity !== undefined && recorded !== '' && recorded !== opts.identity) {
    throw runtimeError(
      'MW_RUNTIME_CLUSTER_MISMATCH',
      { mesh: opts.mesh, recorded, identity: opts.identity },
      { details: { recorded, identity: opts.identity } },
    );
  }
  if (wire > WIRE)
    throw runtimeError('MW_RUNTIME_BUS_WIRE', { mesh: opts.mesh, stream: config.name, wire, known: WIRE });
  return wire;
}

/** A stream's description: the mesh's identity, and the wire after it (`; wire n`), 1 if none. */
export function descriptionParts(description: string): { readonly identity: string; readonly wire: number } {
  const m = /^(?:(.*); )?wire (\d+)$/s.exec(description);
  if (m === null) return { identity: description, wire: 1 };
  return { identity: m[1] ?? '', wire: Number(m[2]) };
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
