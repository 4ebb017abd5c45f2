import type { Policy } from '../runtime/index.js';

/**
 * The ingress a partner (a token with role `partner`: another organisation's agent or client) may
 * send through: those the policy names as some exposed agent's `expose.via`. A partner reaches the
 * mesh only through them, addressed to the exposed agent or, by type, through the ingress itself.
 */
export function partnerIngress(policy: Policy): ReadonlySet<string> {
  const via = new Set<string>();
  for (const agent of policy.agents.values()) if (agent.expose !== undefined) via.add(agent.expose.via);
  return via;
}
