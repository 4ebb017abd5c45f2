import type { Envelope } from '../../envelope/index.js';
import type { Policy } from '../../policy/index.js';
import { type IdentifiedContext, type Stage, verdict } from '../context.js';
import type { Verdict } from '../types.js';

const NONE: readonly string[] = [];

/**
 * Whether a partner's message (one an outside caller's token sent) may go where it is addressed: only
 * to an agent `policy` exposes through `ingress`, the ingress it came in by. The authorization stage
 * asks it at admission, and a hold asks it again when it is released, under the policy then in force.
 */
export function partnerReach(policy: Policy, env: Envelope, ingress: string): Verdict | undefined {
  if (policy.agents.get(env.target ?? '')?.expose?.via === ingress) return undefined;
  return verdict(
    'deny',
    'authorization',
    'authorization.partner_not_exposed',
    env.target === undefined
      ? `A partner's message must be addressed to an agent the mesh exposes through ingress ${ingress}; this ${env.type} was sent to every consumer of its type.`
      : `A partner's message may go only to an agent the mesh exposes through ingress ${ingress}, and "${env.target}" is not one.`,
    ingress,
  );
}

/**
 * Stage 2, authorization. Stops: quarantine `authorization.unknown_type`; deny
 * `authorization.not_emitter`, `authorization.ingress_effect`, `authorization.effect_not_allowed`,
 * `authorization.partner_not_exposed`, `authorization.unknown_target`, `authorization.target_not_consumer`.
 */
export const authorizationStage: Stage<IdentifiedContext> = {
  name: 'authorization',
  run(ctx) {
    const env = ctx.envelope;
    const { policy, sourceName } = ctx;
    const type = env.type;
    // First of all, so a partner learns nothing of which types, ingress or agents exist behind the
    // mesh: anything not addressed to an agent exposed to it is refused the same way.
    if (ctx.input.partner === true) {
      const refused = partnerReach(policy, env, sourceName);
      if (refused !== undefined) return refused;
    }
    if (!policy.contracts.has(type) && !ctx.index.knownTypes.has(type)) {
      return verdict(
        'quarantine',
        'authorization',
        'authorization.unknown_type',
        `No contract, agent, ingress or effect in mesh "${policy.mesh}" knows the type ${type}.`,
      );
    }
    if (ctx.input.kind === 'effect') {
      if (ctx.ingress !== undefined) {
        return verdict(
          'deny',
          'authorization',
          'authorization.ingress_effect',
          `Ingress ${sourceName} may inject messages only; it cannot request the effect ${type}.`,
          sourceName,
        );
      }
      if (!policy.effects.has(type) || !(ctx.agent?.effects ?? NONE).includes(type)) {
        const why = policy.effects.has(type) ? 'is not among its effects' : 'is not a declared effect';
        return verdict(
          'deny',
          'authorization',
          'authorization.effect_not_allowed',
          `Agent ${sourceName} may not request ${type}: it ${why}.`,
          sourceName,
        );
      }
      return undefined;
    }
    const emits = ctx.agent?.emits ?? ctx.ingress?.emits ?? NONE;
    if (!emits.includes(type)) {
      return verdict(
        'deny',
        'authorization',
        'authorization.not_emitter',
        `${ctx.agent === undefined ? 'Ingress' : 'Agent'} ${sourceName} may not emit ${type}: it is not in its emits list.`,
        sourceName,
      );
    }
    if (env.target !== undefined) {
      const target = policy.agents.get(env.target);
      if (target === undefined) {
        return verdict(
          'deny',
          'authorization',
          'authorization.unknown_target',
          `The message is addressed to "${env.target}", which is not a registered agent.`,
          sourceName,
        );
      }
      if (!target.consumes.includes(type)) {
        return verdict(
          'deny',
          'authorization',
          'authorization.target_not_consumer',
          `Agent ${env.target} does not consume ${type}, so ${sourceName} may not send it there.`,
          env.target,
        );
      }
    }
    return undefined;
  },
};
