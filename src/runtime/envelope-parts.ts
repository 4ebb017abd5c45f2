import { digestOf, type Envelope, formatSource } from '../envelope/index.js';
import type { AgentSpec } from '../policy/index.js';
import type { Random } from './envelopes.js';

/** Random bytes per envelope: 10 for its UUIDv7 id, 16 and 8 for its trace and span ids. */
const PER = 34;

/**
 * What an envelope factory makes once and reuses: random bytes from a pool, a parent's input
 * digest, the `time` text of a millisecond, the `source` of an ingress or an agent version.
 */
export type EnvelopeParts = {
  /** 34 fresh random bytes, valid until the next call. */
  fresh(): Uint8Array;
  /** The digest of `parent.data`, remembered for the parent's next child. */
  inputDigest(parent: Envelope): string;
  /** `now` as ISO 8601 text. */
  timeOf(now: number): string;
  ingressSource(name: string): string;
  agentSource(agent: AgentSpec): string;
};

export function createEnvelopeParts(opts: { readonly mesh: string; readonly random: Random }): EnvelopeParts {
  // Random bytes come from a pool refilled 120 envelopes at a time: one syscall, not one per id.
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

  // A mesh has few sources (one per ingress and agent version): each is formatted once, found by the
  // ingress name or the agent's spec without building a key. Bounded: a policy reload brings new specs.
  const ingressSources = new Map<string, string>();
  const agentSources = new Map<AgentSpec, string>();
  const ingressSource = (name: string): string => {
    let source = ingressSources.get(name);
    if (source === undefined) {
      if (ingressSources.size >= 1024) ingressSources.clear();
      source = formatSource(opts.mesh, name);
      ingressSources.set(name, source);
    }
    return source;
  };
  const agentSource = (agent: AgentSpec): string => {
    let source = agentSources.get(agent);
    if (source === undefined) {
      if (agentSources.size >= 1024) agentSources.clear();
      source = formatSource(opts.mesh, agent.name, agent.version);
      agentSources.set(agent, source);
    }
    return source;
  };

  return { fresh, inputDigest, timeOf, ingressSource, agentSource };
}
