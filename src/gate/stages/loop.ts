import { countInAncestry, hopDigest } from '../../envelope/index.js';
import { breakerKey, breakerOpenAt, LOOP_BREAKER } from '../../state/index.js';
import {
  type DeltaSink,
  type IdentifiedContext,
  type Linking,
  type LoopResult,
  type Stage,
  verdict,
} from '../context.js';
import type { EchoLink } from '../types.js';
import { linkIngress } from './link.js';

/**
 * Stage 4, loop guard. First links an ingress message to a recent effect for its subject that it
 * names (`causationid`), carries the reply token of, or echoes (email → ticket), so the hop and
 * ancestry checks see the causal loop (link.ts). Stops: quarantine `loop.unverified_causation` (a
 * `causationid` naming no such effect); `loop.too_many_hops`, `loop.repeated_hop`: hold plus a loop
 * freeze of the subject when the guard's action is freeze, deny otherwise. Returns the envelope as
 * linked, its link and hop digest, with the stop when it stops.
 */
export const loopStage: Stage<IdentifiedContext, LoopResult> = {
  name: 'loop',
  run(ctx, out) {
    const guard = ctx.policy.guards.loop;
    let env = ctx.envelope;
    let link: EchoLink | undefined;
    if (ctx.ingress !== undefined && ctx.input.kind === 'message') {
      const linked = linkIngress(ctx);
      if (linked?.stop !== undefined) {
        const { envelope, unverifiedCausation, stop } = linked;
        return { envelope, link: undefined, unverifiedCausation, hop: '', stop };
      }
      if (linked !== undefined) ({ envelope: env, link } = linked);
    }
    const hop = hopDigest(ctx.sourceName, env.type, env.subject);
    const found: LoopResult = { envelope: env, link, unverifiedCausation: undefined, hop };
    if (ctx.input.release === true) return found; // a pilot let this one through
    if (env.hop > guard.maxHops) {
      return stopLoop(
        ctx,
        found,
        out,
        'loop.too_many_hops',
        `${env.type} for ${env.subject} is hop ${env.hop} of its chain, past the limit of ${guard.maxHops} hops`,
      );
    }
    const repeats = countInAncestry(env.ancestry, hop);
    if (repeats > guard.maxRepeats) {
      return stopLoop(
        ctx,
        found,
        out,
        'loop.repeated_hop',
        `${ctx.sourceName} → ${env.type} for ${env.subject} already happened ${repeats} times in this chain, more than the ${guard.maxRepeats} allowed`,
      );
    }
    return found;
  },
};

function stopLoop(
  ctx: IdentifiedContext,
  found: Linking,
  out: DeltaSink,
  reason: string,
  what: string,
): LoopResult {
  const subject = found.envelope.subject;
  if (ctx.policy.guards.loop.action === 'deny') {
    const stop = verdict('deny', 'loop', reason, `Loop guard: ${what}; the message is denied.`, LOOP_BREAKER);
    return { ...found, stop };
  }
  const key = breakerKey(LOOP_BREAKER, subject);
  // Already frozen: keep the original opening time rather than re-opening.
  if (!breakerOpenAt(ctx.state.breaker(key), ctx.now)) {
    out.always.push({
      kind: 'breaker-open',
      key,
      state: { state: 'open', action: 'freeze', openedAt: ctx.now, by: LOOP_BREAKER },
    });
  }
  const stop = verdict(
    'hold',
    'loop',
    reason,
    `Loop guard: ${what}; ${subject} is frozen until a pilot releases it.`,
    LOOP_BREAKER,
  );
  return { ...found, stop };
}
