import { type Envelope, extendAncestry, parseSource } from '../envelope/index.js';
import type { AgentSpec, IngressSpec, Policy } from '../policy/index.js';
import { echoFingerprints, holdOpen, type StateView } from '../state/index.js';
import {
  type DeltaSink,
  type GateContext,
  type GateFrame,
  type IdentifiedContext,
  indexOf,
  type Linking,
} from './context.js';
import { driftDeltas } from './drift.js';
import { approvalStage } from './stages/approval.js';
import { authorizationStage } from './stages/authorization.js';
import { breakerStage } from './stages/breaker.js';
import { budgetStage } from './stages/budget.js';
import { contractStage } from './stages/contract.js';
import { envelopeStage } from './stages/envelope.js';
import { loopStage } from './stages/loop.js';
import { rateLimitStage } from './stages/rate-limit.js';
import type { Decision, EchoLink, GateInput, StageName, Verdict } from './types.js';

/** Between the envelope and the loop stage: checks of who may send what, and of its payload. */
const IDENTIFIED_STAGES = [authorizationStage, contractStage] as const;
/** After the loop stage: the guards that count and the approvals. */
const GUARD_STAGES = [rateLimitStage, budgetStage, breakerStage, approvalStage] as const;

/** The pipeline, in order (DESIGN.md "The gate"). The first stage that stops decides. */
export const STAGE_NAMES: readonly StageName[] = [
  envelopeStage.name,
  ...IDENTIFIED_STAGES.map((s) => s.name),
  loopStage.name,
  ...GUARD_STAGES.map((s) => s.name),
];

/**
 * Decides one envelope: pure and synchronous, never throws. Returns the verdict, the typed (and
 * possibly re-linked) envelope once its shape is valid, and the state deltas to apply in order.
 * Each stage reads a readonly context and returns what it found; this builds the next context.
 */
export function decide(input: GateInput, policy: Policy, state: StateView): Decision {
  const index = indexOf(policy);
  const now = input.now;
  const frame: GateFrame = { input, policy, index, state, now };
  const out: DeltaSink = { accounting: [], always: [] };

  const found = envelopeStage.run(frame, out);
  if (found.stop !== undefined) return finish(frame, found, undefined, found.stop, out, false);
  const { envelope, sourceName, agent, ingress } = found;
  const identified: IdentifiedContext = {
    input,
    policy,
    index,
    state,
    now,
    envelope,
    sourceName,
    agent,
    ingress,
  };
  for (let i = 0; i < IDENTIFIED_STAGES.length; i++) {
    const stop = IDENTIFIED_STAGES[i]!.run(identified, out);
    if (stop !== undefined) return finish(frame, identified, undefined, stop, out, false);
  }

  const linking = loopStage.run(identified, out);
  if (linking.stop !== undefined) return finish(frame, identified, linking, linking.stop, out, false);
  const ctx: GateContext = {
    input,
    policy,
    index,
    state,
    now,
    envelope: linking.envelope,
    sourceName,
    agent,
    ingress,
    link: linking.link,
    hop: linking.hop,
  };
  for (let i = 0; i < GUARD_STAGES.length; i++) {
    const stop = GUARD_STAGES[i]!.run(ctx, out);
    // A hold at the approval stage reserves the message's share of limits, budgets and counts.
    if (stop !== undefined) return finish(frame, ctx, linking, stop, out, stop.stage === 'approval');
  }
  const who = agent === undefined ? `ingress ${sourceName}` : sourceName;
  return finish(
    frame,
    ctx,
    linking,
    // Members in canonical order (see withPolicyDigest).
    {
      decision: 'deliver',
      detail: `${ctx.envelope.type} from ${who} for ${ctx.envelope.subject} passed every guard.`,
      reason: 'gate.admitted',
      stage: 'gate',
    },
    out,
    true,
  );
}

/** The sender as far as the envelope stage found it: all of it, unless it stopped. */
type Sender = {
  readonly envelope: Envelope | undefined;
  readonly agent: AgentSpec | undefined;
  readonly ingress: IngressSpec | undefined;
};

/**
 * The decision from the last context reached (`linking` once the loop stage ran): the deltas
 * applied whatever the verdict, then, when the message is admitted (delivered, or held for
 * approval), its accounting and, for an effect, its echo mark.
 */
function finish(
  frame: GateFrame,
  sender: Sender,
  linking: Linking | undefined,
  verdict: Verdict,
  out: DeltaSink,
  admitted: boolean,
): Decision {
  const deltas = out.always;
  let env = linking?.envelope ?? sender.envelope;
  const link = linking?.link;
  let unverifiedCausation = linking?.unverifiedCausation;
  if (env !== undefined && unverifiedCausation === undefined && isUnverifiedClaim(frame, sender, env, link)) {
    const { causationid: claim, ...rest } = env;
    env = rest;
    unverifiedCausation = claim;
  }
  // Admitted messages passed the loop stage: its linking (and hop) is there.
  if (admitted && linking !== undefined && env !== undefined) {
    for (const d of out.accounting) deltas.push(d);
    if (frame.input.kind === 'effect') {
      // Remember the effect, and what it said, so that what comes back through an ingress (its text,
      // a causationid naming it, its executor's reply token) links back here.
      const loop = frame.policy.guards.loop;
      deltas.push({
        kind: 'echo',
        mark: {
          ancestry: extendAncestry(env.ancestry, linking.hop, loop.maxHops),
          at: frame.now,
          correlationid: env.correlationid,
          effect: env.type,
          effectId: env.id,
          fingerprints: echoFingerprints(env.data, loop.echoMinLength),
          hop: env.hop,
        },
        subject: env.subject,
      });
    }
    if (verdict.decision === 'deliver') {
      env = withPolicyDigest(env, frame.policy.digest);
      // An agent's delivered emission of a monitored type feeds its drift monitors (none: no cost).
      if (frame.index.drift.size > 0 && sender.agent !== undefined && frame.input.kind === 'message') {
        const monitors = frame.index.drift.get(`${sender.agent.name}|${env.type}`);
        if (monitors !== undefined) driftDeltas(frame, monitors, env, sender.agent, deltas);
      }
    }
  }
  if (env === undefined) return { verdict, deltas };
  // A hold is state its subject's partition owns: opened by this delta, closed by its release.
  if (verdict.decision === 'hold') {
    deltas.push(holdOpen(env, frame.input.kind, verdict, frame.now, frame.input.partner === true));
  }
  if (unverifiedCausation !== undefined) return { verdict, envelope: env, deltas, unverifiedCausation };
  return link === undefined ? { verdict, envelope: env, deltas } : { verdict, envelope: env, deltas, link };
}

/**
 * A `causationid` an ingress message brings is a claim from outside: only the loop stage's link
 * check (link.ts) makes it the message's causation. A message stopped before that check (at the
 * envelope, authorization or contract stage) keeps no unchecked claim in its envelope, so none
 * reaches the ledger's causation index, lineage or events: it is recorded beside it instead. An
 * agent's envelope (a source with a version) got its causation from the runtime, not from a claim.
 */
function isUnverifiedClaim(
  frame: GateFrame,
  sender: Sender,
  env: Envelope,
  link: EchoLink | undefined,
): boolean {
  if (env.causationid === undefined || link !== undefined || frame.input.release === true) return false;
  // The envelope stage has told agents from ingress; parsed again only if it stopped before that.
  if (sender.agent !== undefined) return false;
  return sender.ingress !== undefined || parseSource(env.source)?.version === undefined;
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
