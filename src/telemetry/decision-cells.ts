import { parseSource } from '../envelope/index.js';
import type { DecisionCell, Instruments } from './metrics.js';
import type { TelemetryDecision } from './spans.js';

/** Label sets of the decision counter at most before new ones count under the agent `other`. */
export const LABEL_SETS = 2000;

/** One level of label sets, by one label's value: the next level, or at the last (kind) the cell. */
type Tier = Map<string, Tier | DecisionCell>;

/**
 * The decision counter's cell for a decision's label set (agent, verdict, stage, rule, kind). The
 * sets are nested maps, one level per label, looked up by strings the runtime already holds (V8
 * keeps a string's hash in it): no key is joined per decision, which was a new string to build and
 * hash on every hop. Attributes are one object per label set, made with its cell.
 *
 * A sender's name may come from outside (a refused candidate's claim): once LABEL_SETS sets are
 * counted, a decision whose set is new counts under the agent `other`, so no caller can grow the
 * series without bound; the sets already counted go on as they are.
 */
export function decisionCells(instruments: Instruments): (d: TelemetryDecision) => DecisionCell {
  const root: Tier = new Map();
  let sets = 0;
  const find = (agent: string, d: TelemetryDecision): DecisionCell | undefined => {
    const { verdict } = d;
    const byVerdict = root.get(agent) as Tier | undefined;
    const byStage = byVerdict?.get(verdict.decision) as Tier | undefined;
    const byRule = byStage?.get(verdict.stage) as Tier | undefined;
    const byKind = byRule?.get(verdict.rule ?? '') as Tier | undefined;
    return byKind?.get(d.gated) as DecisionCell | undefined;
  };
  const make = (agent: string, d: TelemetryDecision): DecisionCell => {
    const { verdict } = d;
    const rule = verdict.rule ?? '';
    const byKind = [agent, verdict.decision, verdict.stage, rule].reduce(tierOf, root);
    const cell = instruments.cellOf({
      verdict: verdict.decision,
      stage: verdict.stage,
      rule,
      agent,
      kind: d.gated,
    });
    byKind.set(d.gated, cell);
    sets++;
    return cell;
  };
  return (d) => {
    const agent = agentOf(d);
    const cell = find(agent, d);
    if (cell !== undefined) return cell;
    if (sets < LABEL_SETS) return make(agent, d);
    return find('other', d) ?? make('other', d);
  };
}

function tierOf(tier: Tier, value: string): Tier {
  let next = tier.get(value) as Tier | undefined;
  if (next === undefined) {
    next = new Map();
    tier.set(value, next);
  }
  return next;
}

/**
 * The agent a decision is counted under: the sender's name (an agent, or the ingress it came in by);
 * `unknown` when there is no envelope or the runtime says the policy has no such sender (an input
 * line's made-up `source`), so labels stay bounded by the policy. A `mesh://` source's name comes
 * from `parseSource`'s memo, the same string each time, where a slice was a new one per decision.
 */
function agentOf(d: TelemetryDecision): string {
  const source = d.envelope?.source;
  if (source === undefined || d.sender === 'unknown') return 'unknown';
  const name = parseSource(source)?.name;
  if (name !== undefined) return name;
  const slash = source.lastIndexOf('/');
  const at = source.lastIndexOf('@');
  return at > slash ? source.slice(slash + 1, at) : source.slice(slash + 1);
}
