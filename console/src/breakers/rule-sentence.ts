import type { BreakerRuleView } from '../api/types.js';
import { spanText } from '../shell/time-text.js';

const SCOPE_WORDS: Record<BreakerRuleView['scope'], string> = {
  entity: 'for one subject',
  agent: 'from one agent',
  edge: 'along one path between two agents',
  mesh: 'in the whole mesh',
};

const STOPPED: Record<BreakerRuleView['scope'], string> = {
  entity: 'that subject',
  agent: 'that agent',
  edge: 'that path',
  mesh: 'the whole mesh',
};

/**
 * What opens one breaker of the policy and what it then does, in a sentence. With several
 * partitions, an agent-, edge- or mesh-wide breaker counts in each partition on its own and trips
 * past that partition's share of `over` (docs/policy.md, Scopes): the sentence says so.
 */
export function ruleSentence(rule: BreakerRuleView, partitions = 1): string {
  const split = rule.scope !== 'entity' && partitions > 1;
  const over = split ? Math.floor(rule.over / partitions) : rule.over;
  const what =
    rule.failures === 'deadLetters'
      ? `more than ${over} messages to ${rule.count} are given up (dead letters)`
      : rule.failures === 'failures'
        ? `${rule.count} fails more than ${over} times`
        : `more than ${over} ${rule.count} are let through`;
  const where = split
    ? `${rule.scope === 'mesh' ? '' : `${SCOPE_WORDS[rule.scope]} `}in one partition (each of the ${partitions} partitions counts on its own, up to its share: ${over} of ${rule.over})`
    : SCOPE_WORDS[rule.scope];
  const stopped = split ? `${STOPPED[rule.scope]} in that partition` : STOPPED[rule.scope];
  const does =
    rule.action === 'freeze'
      ? `freezes ${stopped}: everything for it waits for a pilot`
      : `refuses everything for ${stopped}`;
  const until =
    rule.cooldownMs === undefined
      ? 'until a pilot resets it'
      : `for ${spanText(rule.cooldownMs)}, or until a pilot resets it`;
  return `Opens when ${what} ${where} within ${spanText(rule.windowMs)}; it then ${does}, ${until}.`;
}
