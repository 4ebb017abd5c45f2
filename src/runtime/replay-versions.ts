import { parseSource } from '../envelope/index.js';
import type { Policy } from '../policy/index.js';

// Agent versions are what ran, not what a policy decides: traffic an agent's earlier (or later)
// version sent is decided by a candidate that registers another version as if it registered the
// version that ran. Without this, a candidate written for the agents deployed now would quarantine
// all the traffic of the versions before (`envelope.version_mismatch`) and replay would say nothing
// about its guards.

export type VersionAdoption = {
  /** The policy to decide `candidate` with: `policy` itself, or a copy registering the sender's version. */
  policyFor(candidate: unknown, recordedReason: string): Policy;
  /** `name@version` of every agent version adopted so far, in the order first seen. */
  readonly adopted: readonly string[];
};

export function createVersionAdoption(policy: Policy): VersionAdoption {
  const variants = new Map<string, Policy>();
  const adopted: string[] = [];
  return {
    adopted,
    policyFor(candidate, recordedReason) {
      // A version the recording itself refused stays refused unless the candidate registers it.
      if (recordedReason === 'envelope.version_mismatch') return policy;
      const source = (candidate as { source?: unknown } | null)?.source;
      if (typeof source !== 'string') return policy;
      const ref = parseSource(source);
      if (ref === undefined || ref.version === undefined || ref.mesh !== policy.mesh) return policy;
      const agent = policy.agents.get(ref.name);
      if (agent === undefined || agent.version === ref.version) return policy;
      const key = `${ref.name}@${ref.version}`;
      let variant = variants.get(key);
      if (variant === undefined) {
        const agents = new Map(policy.agents);
        agents.set(ref.name, { ...agent, version: ref.version });
        variant = { ...policy, agents };
        variants.set(key, variant);
        adopted.push(key);
      }
      return variant;
    },
  };
}
