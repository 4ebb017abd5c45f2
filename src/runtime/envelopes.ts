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
  root(
    ingress: string,
    input: {
      type: string;
      subject: string;
      data: JsonValue;
      id?: string;
      target?: string;
      /** Claimed by the outside; the gate checks it (loop stage). */
      causationid?: string;
    },
  ): Envelope;
  /** A message or effect request caused by `parent`, emitted by `agent`. */
  child(
    parent: Envelope,
    agent: AgentSpec,
    type: string,
    data: JsonValue,
    opts: {
      subject?: string;
      target?: string;
      model?: string;
      /** A remote agent's own id, time and signature (transports); made here otherwise. */
      id?: string;
      time?: string;
      signature?: string;
    },
  ): Envelope;
};

export function createEnvelopeFactory(opts: {
  mesh: string;
  /** Read at each emission: a policy reload may change it. */
  maxHops: () => number;
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

  // Every emission of one handler consumed the same input, and a handler's emissions are made one
  // after the other: the last parent's digest is remembered. (A WeakMap of every parent cost more
  // than it saved: most handlers emit once, and each entry is garbage the collector must trace.)
  let lastParent: Envelope | undefined;
  let lastDigest = '';
  const inputDigest = (parent: Envelope): string => {
    if (parent !== lastParent) {
      lastDigest = digestOf(parent.data);
      lastParent = parent;
    }
    return lastDigest;
  };

  // Envelopes made in the same millisecond share their `time` text, formatted once.
  let lastNow = Number.NaN;
  let lastTime = '';
  const timeOf = (now: number): string => {
    if (now !== lastNow) {
      lastTime = new Date(now).toISOString();
      lastNow = now;
    }
    return lastTime;
  };

  return {
    id: () => formatUuidV7(opts.clock(), fresh()),
    root(ingress, input) {
      const now = opts.clock();
      const r = fresh();
      const id = input.id ?? formatUuidV7(now, r);
      // Members in canonical (RFC 8785) order: the ledger then serializes with native JSON.stringify.
      return {
        ...(input.causationid === undefined ? {} : { causationid: input.causationid }),
        correlationid: id,
        data: input.data,
        datacontenttype: 'application/json',
        hop: 0,
        id,
        source: formatSource(opts.mesh, ingress),
        specversion: '1.0',
        subject: input.subject,
        ...(input.target === undefined ? {} : { target: input.target }),
        time: timeOf(now),
        traceparent: newTraceparent(r.subarray(10, 26), r.subarray(26, 34)),
        type: input.type,
      };
    },
    child(parent, agent, type, data, o) {
      const now = opts.clock();
      const r = fresh();
      const parentAgent = parseSource(parent.source)?.name ?? parent.source;
      // Members in canonical (RFC 8785) order, as in root().
      const envelope: Envelope = {
        agentversion: agent.version,
        ancestry: extendAncestry(
          parent.ancestry,
          hopDigest(parentAgent, parent.type, parent.subject),
          opts.maxHops(),
        ),
        causationid: parent.id,
        correlationid: parent.correlationid,
        data,
        datacontenttype: 'application/json',
        hop: parent.hop + 1,
        id: o.id ?? formatUuidV7(now, r),
        inputdigest: inputDigest(parent),
        ...(o.model === undefined ? {} : { model: o.model }),
        ...(o.signature === undefined ? {} : { signature: o.signature }),
        source: formatSource(opts.mesh, agent.name, agent.version),
        specversion: '1.0',
        subject: o.subject ?? parent.subject,
        ...(o.target === undefined ? {} : { target: o.target }),
        time: o.time ?? timeOf(now),
        traceparent: childTraceparent(parent.traceparent, r.subarray(26, 34), r.subarray(10, 26)),
        type,
      };
      return envelope;
    },
  };
}
