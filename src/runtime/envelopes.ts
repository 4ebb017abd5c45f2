import { randomFillSync } from 'node:crypto';
import {
  childTraceparent,
  digestOf,
  type Envelope,
  extendAncestry,
  formatSource,
  formatUuidV7,
  hopDigest,
  type JsonValue,
  newTraceparent,
  parseSource,
} from '../envelope/index.js';
import type { AgentSpec } from '../policy/index.js';

/** The shell's source of time and randomness; tests pass fixed ones. */
export type Clock = () => number;
export type Random = (bytes: Uint8Array) => Uint8Array;

export const systemClock: Clock = () => Date.now();
export const systemRandom: Random = (bytes) => randomFillSync(bytes);

export type EnvelopeFactory = {
  /** A fresh UUIDv7, for records that have no envelope (rejected input). */
  id(): string;
  /** A root message from an ingress (hop 0, its own correlation). */
  root(ingress: string, input: { type: string; subject: string; data: JsonValue; id?: string }): Envelope;
  /** A message or effect request caused by `parent`, emitted by `agent`. */
  child(
    parent: Envelope,
    agent: AgentSpec,
    type: string,
    data: JsonValue,
    opts: { subject?: string; target?: string; model?: string },
  ): Envelope;
};

export function createEnvelopeFactory(opts: {
  mesh: string;
  maxHops: number;
  clock: Clock;
  random: Random;
}): EnvelopeFactory {
  // Random bytes come from a pool refilled 120 envelopes at a time: one syscall, not one per id.
  const PER = 34;
  const pool = new Uint8Array(PER * 120);
  let used = pool.length;
  const fresh = (): Uint8Array => {
    if (used === pool.length) {
      opts.random(pool);
      used = 0;
    }
    used += PER;
    return pool.subarray(used - PER, used);
  };

  // Every emission of one handler consumed the same input: digest it once per parent.
  const inputDigests = new WeakMap<Envelope, string>();
  const inputDigest = (parent: Envelope): string => {
    let digest = inputDigests.get(parent);
    if (digest === undefined) {
      digest = digestOf(parent.data);
      inputDigests.set(parent, digest);
    }
    return digest;
  };

  return {
    id: () => formatUuidV7(opts.clock(), fresh()),
    root(ingress, input) {
      const now = opts.clock();
      const r = fresh();
      const id = input.id ?? formatUuidV7(now, r);
      return {
        specversion: '1.0',
        id,
        source: formatSource(opts.mesh, ingress),
        type: input.type,
        time: new Date(now).toISOString(),
        subject: input.subject,
        data: input.data,
        datacontenttype: 'application/json',
        correlationid: id,
        hop: 0,
        traceparent: newTraceparent(r.subarray(10, 26), r.subarray(26, 34)),
      };
    },
    child(parent, agent, type, data, o) {
      const now = opts.clock();
      const r = fresh();
      const parentAgent = parseSource(parent.source)?.name ?? parent.source;
      const envelope: Envelope = {
        specversion: '1.0',
        id: formatUuidV7(now, r),
        source: formatSource(opts.mesh, agent.name, agent.version),
        type,
        time: new Date(now).toISOString(),
        subject: o.subject ?? parent.subject,
        data,
        datacontenttype: 'application/json',
        correlationid: parent.correlationid,
        causationid: parent.id,
        hop: parent.hop + 1,
        ancestry: extendAncestry(
          parent.ancestry,
          hopDigest(parentAgent, parent.type, parent.subject),
          opts.maxHops,
        ),
        traceparent: childTraceparent(parent.traceparent, r.subarray(26, 34), r.subarray(10, 26)),
        agentversion: agent.version,
        inputdigest: inputDigest(parent),
        ...(o.target === undefined ? {} : { target: o.target }),
        ...(o.model === undefined ? {} : { model: o.model }),
      };
      return envelope;
    },
  };
}
