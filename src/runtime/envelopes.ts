import { createHash, randomFillSync } from 'node:crypto';
import {
  caseTraceparent,
  childTraceparent,
  type Envelope,
  extendAncestry,
  formatUuidV7,
  hopDigest,
  type JsonValue,
  parseSource,
  traceIdOf,
} from '../envelope/index.js';
import type { AgentSpec } from '../policy/index.js';
import { createEnvelopeParts } from './envelope-parts.js';

/** The shell's source of time and randomness; tests pass fixed ones. */
export type Clock = () => number;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
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
      /** A caller's W3C trace context: the case continues the caller's trace (ignored when malformed). */
      traceparent?: string;
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
    /** Its place among what one try of the handler emitted (0, 1, …): derived ids are made of it. */
    seq?: number,
  ): Envelope;
};

export function createEnvelopeFactory(opts: {
  mesh: string;
  /** Read at each emission: a policy reload may change it. */
  maxHops: () => number;
  clock: Clock;
  random: Random;
  /**
   * Distributed mode: a child's id is derived from its parent's id, the emitting agent and its
   * `seq`, not random. A handler run again after a crash (its first run's emissions may wait on the
   * stream) then emits under the same ids, and the partition that admits them finds the second copy
   * recorded already instead of starting a second chain of work.
   */
  derivedChildIds?: boolean;
}): EnvelopeFactory {
  const { fresh, inputDigest, timeOf, ingressSource, agentSource } = createEnvelopeParts(opts);

  return {
    id: () => formatUuidV7(opts.clock(), fresh()),
    root(ingress, input) {
      const now = opts.clock();
      const r = fresh();
      const id = input.id ?? formatUuidV7(now, r);
      // Members set in canonical (RFC 8785) order, so the ledger serializes with native
      // JSON.stringify; one by one, as a conditional spread allocates an object on every message.
      const e = {} as Mutable<Envelope>;
      if (input.causationid !== undefined) e.causationid = input.causationid;
      e.correlationid = id;
      e.data = input.data;
      e.datacontenttype = 'application/json';
      e.hop = 0;
      e.id = id;
      e.source = ingressSource(ingress);
      e.specversion = '1.0';
      e.subject = input.subject;
      if (input.target !== undefined) e.target = input.target;
      e.time = timeOf(now);
      // W3C trace context: a caller's valid traceparent is kept, so the case is a part of the caller's
      // trace (its decision's span under the caller's span, telemetry/spans.ts); else the case's own.
      e.traceparent =
        input.traceparent !== undefined && traceIdOf(input.traceparent) !== undefined
          ? input.traceparent
          : caseTraceparent(id, id);
      e.type = input.type;
      return e;
    },
    child(parent, agent, type, data, o, seq) {
      const now = opts.clock();
      const r = fresh();
      const parentAgent = parseSource(parent.source)?.name ?? parent.source;
      // Members in canonical (RFC 8785) order, as in root().
      const envelope: Mutable<Envelope> = {
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
        id:
          o.id ??
          (opts.derivedChildIds === true && seq !== undefined
            ? derivedId(parent, agent.name, seq)
            : formatUuidV7(now, r)),
        inputdigest: inputDigest(parent),
      } as Mutable<Envelope>;
      if (o.model !== undefined) envelope.model = o.model;
      if (o.signature !== undefined) envelope.signature = o.signature;
      envelope.source = agentSource(agent);
      envelope.specversion = '1.0';
      envelope.subject = o.subject ?? parent.subject;
      if (o.target !== undefined) envelope.target = o.target;
      envelope.time = o.time ?? timeOf(now);
      envelope.traceparent = childTraceparent(parent.traceparent, envelope.id, parent.correlationid);
      envelope.type = type;
      return envelope;
    },
  };
}

/**
 * A UUIDv7 made of what it names, not of chance: the parent's time (its id's first 48 bits when it is
 * a UUIDv7, else its `time`, both fixed once the parent is recorded) and the first bytes of
 * SHA-256(parent id, agent, seq).
 */
function derivedId(parent: Envelope, agent: string, seq: number): string {
  const digest = createHash('sha256').update(`${parent.id}\u0000${agent}\u0000${seq}`).digest();
  const ms = /^[0-9a-f]{8}-[0-9a-f]{4}-7/.test(parent.id)
    ? Number.parseInt(parent.id.slice(0, 8) + parent.id.slice(9, 13), 16)
    : Date.parse(parent.time) || 0;
  return formatUuidV7(ms, digest);
}
