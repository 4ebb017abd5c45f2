import type { Envelope } from '../envelope/index.js';
import type { AgentSpec, BreakerRule, Budget, IngressSpec, Policy, Scope } from '../policy/index.js';
import { LOOP_BREAKER, PILOT_BREAKER, type StateDelta, type StateView } from '../state/index.js';
import type { EchoLink, GateInput, StageName, Verdict, VerdictDecision } from './types.js';

/** What the policy looks like from the hot path: built once per compiled policy, then reused. */
export type PolicyIndex = {
  /** Every type some agent, ingress, effect or route declares. */
  readonly knownTypes: ReadonlySet<string>;
  /** Breakers checked for an open state: the loop and pilot freezes (entity scope), then the rules. */
  readonly breakerChecks: readonly { readonly id: string; readonly scope: Scope }[];
  /** Breaker rules that count admissions, by counted type (failure breakers are only checked). */
  readonly countRules: ReadonlyMap<string, readonly BreakerRule[]>;
  /** Budgets by type. */
  readonly budgets: ReadonlyMap<string, readonly Budget[]>;
};

/** One decision's working state, shared by the stages in order. */
export type GateContext = {
  readonly input: GateInput;
  readonly policy: Policy;
  readonly index: PolicyIndex;
  readonly state: StateView;
  readonly now: number;
  /** Set by the envelope stage, which runs first; the loop stage replaces it on an echo re-link. */
  envelope: Envelope | undefined;
  /** The source agent or ingress name, without version. */
  sourceName: string;
  agent: AgentSpec | undefined;
  ingress: IngressSpec | undefined;
  link: EchoLink | undefined;
  /** A `causationid` the loop stage could not verify, taken out of the envelope. */
  unverifiedCausation: string | undefined;
  /** hopDigest(sourceName, type, subject), set by the loop stage. */
  hop: string;
  /** Edge scope key, built on first use. */
  edgeKey: string | undefined;
  /** Accounting deltas: applied only when the message is admitted (deliver, or held for approval). */
  readonly accounting: StateDelta[];
  /** Deltas returned whatever the verdict: breakers opened or closed, external ids seen. */
  readonly always: StateDelta[];
};

/** A pipeline stage: returns a stop verdict, or undefined to continue (Envoy's Continue). */
export type Stage = { readonly name: StageName; readonly run: (ctx: GateContext) => Verdict | undefined };

export function verdict(
  decision: VerdictDecision,
  stage: StageName,
  reason: string,
  detail: string,
  rule?: string,
): Verdict {
  return rule === undefined ? { decision, stage, reason, detail } : { decision, stage, rule, reason, detail };
}

/** The state key of a scope for this message. */
export function scopeKeyOf(ctx: GateContext, scope: Scope): string {
  switch (scope) {
    case 'entity':
      return ctx.envelope!.subject;
    case 'agent':
      return ctx.sourceName;
    case 'mesh':
      return '*';
    case 'edge':
      if (ctx.edgeKey === undefined) {
        const env = ctx.envelope!;
        ctx.edgeKey = `${ctx.sourceName}->${env.target ?? env.type}`;
      }
      return ctx.edgeKey;
  }
}

const indexes = new WeakMap<Policy, PolicyIndex>();

/** The policy's index, memoized per policy object (policies are immutable). */
export function indexOf(policy: Policy): PolicyIndex {
  let index = indexes.get(policy);
  if (index === undefined) {
    index = buildIndex(policy);
    indexes.set(policy, index);
  }
  return index;
}

function buildIndex(policy: Policy): PolicyIndex {
  const knownTypes = new Set<string>();
  const add = (types: readonly string[]): void => {
    for (const t of types) knownTypes.add(t);
  };
  for (const agent of policy.agents.values()) {
    add(agent.consumes);
    add(agent.emits);
    add(agent.effects);
  }
  for (const ingress of policy.ingress.values()) add(ingress.emits);
  add([...policy.effects.keys(), ...policy.consumers.keys()]);
  const breakerChecks: { id: string; scope: Scope }[] = [
    { id: LOOP_BREAKER, scope: 'entity' },
    { id: PILOT_BREAKER, scope: 'entity' },
  ];
  const countRules = new Map<string, BreakerRule[]>();
  for (const rule of policy.breakers) {
    if (rule.id !== LOOP_BREAKER && rule.id !== PILOT_BREAKER) breakerChecks.push(rule);
    // A failure breaker is counted by the runtime when a handler or executor fails, never here.
    if (rule.failures !== undefined) continue;
    const list = countRules.get(rule.count);
    if (list === undefined) countRules.set(rule.count, [rule]);
    else list.push(rule);
  }
  const budgets = new Map<string, Budget[]>();
  for (const budget of policy.budgets) {
    const list = budgets.get(budget.type);
    if (list === undefined) budgets.set(budget.type, [budget]);
    else list.push(budget);
  }
  return { knownTypes, breakerChecks, countRules, budgets };
}
