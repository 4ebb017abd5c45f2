import { type Envelope, extendAncestry, parseSource } from '../envelope/index.js';
import type { Policy } from '../policy/index.js';
import { echoFingerprints, holdOpen, type StateView } from '../state/index.js';
import { type GateContext, indexOf, type Stage } from './context.js';
import { approvalStage } from './stages/approval.js';
import { authorizationStage } from './stages/authorization.js';
import { breakerStage } from './stages/breaker.js';
import { budgetStage } from './stages/budget.js';
import { contractStage } from './stages/contract.js';
import { envelopeStage } from './stages/envelope.js';
import { loopStage } from './stages/loop.js';
import { rateLimitStage } from './stages/rate-limit.js';
import type { Decision, GateInput, StageName, Verdict } from './types.js';

/** The pipeline, in order (DESIGN.md "The gate"). The first stage that returns a verdict decides. */
const STAGES: readonly Stage[] = [
  envelopeStage,
  authorizationStage,
  contractStage,
  loopStage,
  rateLimitStage,
  budgetStage,
  breakerStage,
  approvalStage,
];

export const STAGE_NAMES: readonly StageName[] = STAGES.map((s) => s.name);

/**
 * Decides one envelope: pure and synchronous, never throws. Returns the verdict, the typed (and
 * possibly re-linked) envelope once its shape is valid, and the state deltas to apply in order.
 */
export function decide(input: GateInput, policy: Policy, state: StateView): Decision {
  const ctx: GateContext = {
    input,
    policy,
    index: indexOf(policy),
    state,
    now: input.now,
    envelope: undefined,
    sourceName: '',
    agent: undefined,
    ingress: undefined,
    link: undefined,
    unverifiedCausation: undefined,
    hop: '',
    edgeKey: undefined,
    accounting: [],
    always: [],
  };
  for (let i = 0; i < STAGES.length; i++) {
    const stop = STAGES[i]!.run(ctx);
    // A hold at the approval stage reserves the message's share of limits, budgets and counts.
    if (stop !== undefined) return finish(ctx, stop, stop.stage === 'approval');
  }
  const env = ctx.envelope!;
  const who = ctx.agent === undefined ? `ingress ${ctx.sourceName}` : ctx.sourceName;
  return finish(
    ctx,
    // Members in canonical order (see withPolicyDigest).
    {
      decision: 'deliver',
      detail: `${env.type} from ${who} for ${env.subject} passed every guard.`,
      reason: 'gate.admitted',
      stage: 'gate',
    },
    true,
  );
}

function finish(ctx: GateContext, verdict: Verdict, admitted: boolean): Decision {
  const deltas = ctx.always;
  unclaim(ctx);
  let env = ctx.envelope;
  if (admitted && env !== undefined) {
    for (const d of ctx.accounting) deltas.push(d);
    if (ctx.input.kind === 'effect') {
      // Remember the effect, and what it said, so that what comes back through an ingress (its text,
      // a causationid naming it, its executor's reply token) links back here.
      const loop = ctx.policy.guards.loop;
      deltas.push({
        kind: 'echo',
        mark: {
          ancestry: extendAncestry(env.ancestry, ctx.hop, loop.maxHops),
          at: ctx.now,
          correlationid: env.correlationid,
          effect: env.type,
          effectId: env.id,
          fingerprints: echoFingerprints(env.data, loop.echoMinLength),
          hop: env.hop,
        },
        subject: env.subject,
      });
    }
    if (verdict.decision === 'deliver') env = withPolicyDigest(env, ctx.policy.digest);
  }
  if (env === undefined) return { verdict, deltas };
  // A hold is state its subject's partition owns: opened by this delta, closed by its release.
  if (verdict.decision === 'hold') {
    deltas.push(holdOpen(env, ctx.input.kind, verdict, ctx.now, ctx.input.partner === true));
  }
  if (ctx.unverifiedCausation !== undefined)
    return { verdict, envelope: env, deltas, unverifiedCausation: ctx.unverifiedCausation };
  return ctx.link === undefined
    ? { verdict, envelope: env, deltas }
    : { verdict, envelope: env, deltas, link: ctx.link };
}

/**
 * A `causationid` an ingress message brings is a claim from outside: only the loop stage's link
 * check (link.ts) makes it the message's causation. A message stopped before that check (at the
 * envelope, authorization or contract stage) keeps no unchecked claim in its envelope, so none
 * reaches the ledger's causation index, lineage or events: it is recorded beside it instead. An
 * agent's envelope (a source with a version) got its causation from the runtime, not from a claim.
 */
function unclaim(ctx: GateContext): void {
  const env = ctx.envelope;
  if (env?.causationid === undefined || ctx.link !== undefined || ctx.input.release === true) return;
  // The envelope stage has told agents from ingress; parsed again only if it stopped before that.
  if (ctx.agent !== undefined || ctx.unverifiedCausation !== undefined) return;
  if (ctx.ingress === undefined && parseSource(env.source)?.version !== undefined) return;
  const { causationid: claim, ...rest } = env;
  ctx.envelope = rest;
  ctx.unverifiedCausation = claim;
}

/**
 * A copy of the envelope with `policydigest` set, placed so that an envelope whose members were in
 * RFC 8785 order stays in that order: its ledger entry is then serialized by native JSON.stringify
 * instead of the much slower generic canonicalizer (envelope/canonical.ts).
 */
function withPolicyDigest(env: Envelope, digest: string): Envelope {
  if (Object.hasOwn(env, 'policydigest')) return { ...env, policydigest: digest };
  const out: Record<string, unknown> = {};
  let placed = false;
  for (const key of Object.keys(env)) {
    if (!placed && key > 'policydigest') {
      out.policydigest = digest;
      placed = true;
    }
    out[key] = env[key as keyof Envelope];
  }
  if (!placed) out.policydigest = digest;
  return out as Envelope;
}
