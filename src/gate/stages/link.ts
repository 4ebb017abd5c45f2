import { caseTraceparent, type Envelope, traceIdOf } from '../../envelope/index.js';
import {
  type EchoMark,
  echoFingerprints,
  findEffectMark,
  matchEcho,
  matchReplyToken,
} from '../../state/index.js';
import { type IdentifiedContext, verdict } from '../context.js';
import { formatDuration } from '../format.js';
import type { EchoLink, Verdict } from '../types.js';

/**
 * What linking found: the envelope re-linked to an effect (and the link), or a stop with the
 * envelope without the `causationid` it could not verify (and that claim).
 */
export type IngressLink =
  | { readonly envelope: Envelope; readonly link: EchoLink; readonly stop?: undefined }
  | { readonly envelope: Envelope; readonly unverifiedCausation: string; readonly stop: Verdict };

/**
 * Links a root message from an ingress to an effect the mesh admitted for the same subject within
 * `guards.loop.echoWindow`, so the hop and ancestry checks see an out-of-band loop as a causal one.
 * In order, the first that applies decides:
 * 1. `causationid` names the effect: trusted only when that effect really was admitted for this
 *    subject within the window; otherwise the message is quarantined (`loop.unverified_causation`)
 *    and the claim is taken out of its envelope and recorded beside it (`unverifiedCausation`);
 * 2. the effect's executor returned a reply token that appears in the message's data;
 * 3. fuzzy echo: the message repeats a long enough string the effect's data held (echo.ts).
 * Returns undefined when the message stays as it came.
 */
export function linkIngress(ctx: IdentifiedContext): IngressLink | undefined {
  const env = ctx.envelope;
  const loop = ctx.policy.guards.loop;
  const marks = ctx.state.echoes(env.subject);
  const claim = env.causationid;
  if (claim !== undefined) {
    // A message a pilot released was linked when first gated: it stays as it was.
    if (ctx.input.release === true) return undefined;
    const mark = findEffectMark(marks, claim, ctx.now, loop.echoWindowMs);
    if (mark === undefined) {
      // Kept out of the envelope (and so out of the ledger's causation index, lineage and events):
      // recorded beside it, for review.
      const { causationid: _claim, ...rest } = env;
      const stop = verdict(
        'quarantine',
        'loop',
        'loop.unverified_causation',
        `Ingress ${ctx.sourceName} says ${env.type} for ${env.subject} was caused by ${shown(claim)}, but no effect with that id was requested for ${env.subject} in the last ${formatDuration(loop.echoWindowMs)}; the claim is not trusted and the message is kept for review.`,
        ctx.sourceName,
      );
      return { envelope: rest, unverifiedCausation: claim, stop };
    }
    return relink(env, mark, { via: 'causationid' });
  }
  // Matching reads the payload: only pay for it when the subject has recent effects.
  if (marks.length === 0) return undefined;
  const byToken = matchReplyToken(marks, env.data, ctx.now, loop.echoWindowMs);
  if (byToken !== undefined) return relink(env, byToken, { token: byToken.replyToken!, via: 'reply-token' });
  const fingerprints = echoFingerprints(env.data, loop.echoMinLength);
  const echo =
    fingerprints.length === 0 ? undefined : matchEcho(marks, fingerprints, ctx.now, loop.echoWindowMs);
  return echo === undefined
    ? undefined
    : relink(env, echo.mark, { fingerprint: echo.fingerprint, via: 'echo' });
}

/** A claim as a sentence quotes it: it comes from outside and may be long. */
function shown(claim: string): string {
  return claim.length <= 80 ? claim : `${claim.slice(0, 79)}…`;
}

/** Puts the message in the effect's causal chain: its causation, correlation, next hop and ancestry. */
function relink(env: Envelope, mark: EchoMark, how: Omit<EchoLink, 'effectId' | 'effect'>): IngressLink {
  const envelope = {
    ...env,
    causationid: mark.effectId,
    correlationid: mark.correlationid,
    hop: mark.hop + 1,
    ancestry: mark.ancestry,
    // The effect's case's trace: one case, one trace, echo included.
    traceparent: caseTraceparent(
      mark.correlationid,
      env.id,
      traceIdOf(env.traceparent) === undefined ? '01' : env.traceparent!.slice(53),
    ),
  };
  // Members in canonical order: effect, effectId, fingerprint, token, via.
  const link = {
    ...(mark.effect === undefined ? {} : { effect: mark.effect }),
    effectId: mark.effectId,
    ...how,
  };
  return { envelope, link };
}
