import { countInAncestry, hopDigest } from '../../envelope/index.js';
import { breakerKey, breakerOpenAt, LOOP_BREAKER } from '../../state/index.js';
import { type GateContext, type Stage, verdict } from '../context.js';
import type { Verdict } from '../types.js';
import { linkIngress } from './link.js';

/**
 * Stage 4, loop guard. First links an ingress message to a recent effect for its subject that it
 * names (`causationid`), carries the reply token of, or echoes (email → ticket), so the hop and
 * ancestry checks see the causal loop (link.ts). Stops: quarantine `loop.unverified_causation` (a
 * `causationid` naming no such effect); `loop.too_many_hops`, `loop.repeated_hop`: hold plus a loop
 * freeze of the subject when the guard's action is freeze, deny otherwise.
 */
export const loopStage: Stage = {
  name: 'loop',
  run(ctx) {
    const guard = ctx.policy.guards.loop;
    if (ctx.ingress !== undefined && ctx.input.kind === 'message') {
      const unverified = linkIngress(ctx);
      if (unverified !== undefined) return unverified;
    }
    const env = ctx.envelope!;
    ctx.hop = hopDigest(ctx.sourceName, env.type, env.subject);
    if (ctx.input.release === true) return undefined; // a pilot let this one through
    if (env.hop > guard.maxHops) {
      return stopLoop(
        ctx,
        'loop.too_many_hops',
        `${env.type} for ${env.subject} is hop ${env.hop} of its chain, past the limit of ${guard.maxHops} hops`,
      );
    }
    const repeats = countInAncestry(env.ancestry, ctx.hop);
    if (repeats > guard.maxRepeats) {
      return stopLoop(
        ctx,
        'loop.repeated_hop',
        `${ctx.sourceName} → ${env.type} for ${env.subject} already happened ${repeats} times in this chain, more than the ${guard.maxRepeats} allowed`,
      );
    }
    return undefined;
  },
};

function stopLoop(ctx: GateContext, reason: string, what: string): Verdict {
  const subject = ctx.envelope!.subject;
  if (ctx.policy.guards.loop.action === 'deny') {
    return verdict('deny', 'loop', reason, `Loop guard: ${what}; the message is denied.`, LOOP_BREAKER);
  }
  const key = breakerKey(LOOP_BREAKER, subject);
  // Already frozen: keep the original opening time rather than re-opening.
  if (!breakerOpenAt(ctx.state.breaker(key), ctx.now)) {
    ctx.always.push({
      kind: 'breaker-open',
      key,
      state: { state: 'open', action: 'freeze', openedAt: ctx.now, by: LOOP_BREAKER },
    });
  }
  return verdict(
    'hold',
    'loop',
    reason,
    `Loop guard: ${what}; ${subject} is frozen until a pilot releases it.`,
    LOOP_BREAKER,
  );
}
