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

/** What opens one breaker of the policy and what it then does, in a sentence. */
export function ruleSentence(rule: BreakerRuleView): string {
  const what =
    rule.failures === 'deadLetters'
      ? `more than ${rule.over} messages to ${rule.count} are given up (dead letters)`
      : rule.failures === 'failures'
        ? `${rule.count} fails more than ${rule.over} times`
        : `more than ${rule.over} ${rule.count} are let through`;
  const does =
    rule.action === 'freeze'
      ? `freezes ${STOPPED[rule.scope]}: everything for it waits for a pilot`
      : `refuses everything for ${STOPPED[rule.scope]}`;
  const until =
    rule.cooldownMs === undefined
      ? 'until a pilot resets it'
      : `for ${spanText(rule.cooldownMs)}, or until a pilot resets it`;
  return `Opens when ${what} ${SCOPE_WORDS[rule.scope]} within ${spanText(rule.windowMs)}; it then ${does}, ${until}.`;
}
