import { type Envelope, parseSource } from '../envelope/index.js';
import type {
  AgentSpec,
  BreakerRule,
  Budget,
  DriftMonitor,
  IngressSpec,
  Policy,
  Scope,
} from '../policy/index.js';
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
  /** Drift monitors by `<agent>|<type>`: empty without `drift:`, and then never looked into. */
  readonly drift: ReadonlyMap<string, readonly DriftMonitor[]>;
};

/** What every stage may read: the decision's inputs. Built once per decision; never written. */
export type GateFrame = {
  readonly input: GateInput;
  readonly policy: Policy;
  readonly index: PolicyIndex;
  readonly state: StateView;
  readonly now: number;
};

/** Who sent the message, as the envelope stage found it. */
export type Identity = {
  readonly envelope: Envelope;
  /** The source agent or ingress name, without version. */
  readonly sourceName: string;
  readonly agent: AgentSpec | undefined;
  readonly ingress: IngressSpec | undefined;
};

/**
 * What the envelope stage returns: the typed envelope and its sender when it passed, or its stop
 * with as much as it had found before stopping.
 */
export type Identification =
  | (Identity & { readonly stop: undefined })
  | {
      readonly stop: Verdict;
      readonly envelope: Envelope | undefined;
      readonly sourceName: string;
      readonly agent: AgentSpec | undefined;
      readonly ingress: IngressSpec | undefined;
    };

/** The context of the stages between the envelope and the loop stage. */
export type IdentifiedContext = GateFrame & Identity;

/** What the loop stage found: the envelope as linked, its link, and its hop. */
export type Linking = {
  /** The envelope re-linked to an effect, or without a `causationid` the stage could not verify. */
  readonly envelope: Envelope;
  readonly link: EchoLink | undefined;
  /** A `causationid` the loop stage could not verify, taken out of the envelope. */
  readonly unverifiedCausation: string | undefined;
  /** hopDigest(sourceName, type, subject); empty when the stage stopped before computing it. */
  readonly hop: string;
};

/** What the loop stage returns: what it found, and its stop if it stopped. */
export type LoopResult = Linking & { readonly stop?: Verdict };

/** The context of the stages after the loop stage: the envelope as the loop stage linked it. */
export type GateContext = IdentifiedContext & {
  readonly link: EchoLink | undefined;
  readonly hop: string;
};

/**
 * Where a stage puts the state changes it wants applied. Stages only add to it and never read it:
 * what one stage found reaches the next through the context decide() builds, never through here.
 * One per decision (the two lists are the decision's deltas), so a stage that counts allocates
 * no result of its own on the hot path.
 */
export type DeltaSink = {
  /** Applied only when the message is admitted (deliver, or held for approval). */
  readonly accounting: StateDelta[];
  /** Applied whatever the verdict: breakers opened or closed, external ids seen. */
  readonly always: StateDelta[];
};

/**
 * A pipeline stage over the readonly context `C`: a stop verdict, or undefined to continue
 * (Envoy's Continue); the envelope and loop stages return what they found (`R`).
 */
export type Stage<C = GateContext, R = Verdict | undefined> = {
  readonly name: StageName;
  readonly run: (ctx: C, out: DeltaSink) => R;
};

export function verdict(
  decision: VerdictDecision,
  stage: StageName,
  reason: string,
  detail: string,
  rule?: string,
): Verdict {
  return rule === undefined ? { decision, stage, reason, detail } : { decision, stage, rule, reason, detail };
}

/**
 * The state key of `scope` for a message from `sender` (the source's name, without version): the
 * key of every limit, budget and breaker, in the gate and in the runtime's failure breakers. A scope
 * read back from an old ledger entry that names none of the four is keyed as an entity.
 */
export function scopeKeyOf(
  scope: Scope | string,
  sender: string,
  env: Pick<Envelope, 'subject' | 'target' | 'type'>,
): string {
  switch (scope) {
    case 'agent':
      return sender;
    case 'mesh':
      return '*';
    case 'edge':
      return `${sender}->${env.target ?? env.type}`;
    default:
      return env.subject;
  }
}

/** The key of `scope` for an envelope, its sender read from its source (see scopeKeyOf). */
export function scopeKeyFor(env: Envelope, scope: Scope | string): string {
  return scopeKeyOf(scope, parseSource(env.source)?.name ?? env.source, env);
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
  const drift = new Map<string, DriftMonitor[]>();
  for (const monitor of policy.drift ?? []) {
    const key = `${monitor.agent}|${monitor.type}`;
    drift.set(key, [...(drift.get(key) ?? []), monitor]);
    // A freezing or denying monitor opens its breaker on the agent: checked like a breaker rule's.
    if (monitor.action !== 'alert') breakerChecks.push({ id: monitor.id, scope: 'agent' });
  }
  return { knownTypes, breakerChecks, countRules, budgets, drift };
}
