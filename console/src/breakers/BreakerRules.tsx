import type { BreakerRuleView, PolicyView } from '../api/types.js';
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

/** This mesh's breakers, read from the policy in force: what trips each one and what it does. */
export function BreakerRules({ policy }: { policy: PolicyView | undefined }) {
  if (policy === undefined) return null;
  const loop = policy.guards?.loop;
  return (
    <ul class="breaker-rules" data-testid="breaker-rules">
      {loop !== undefined && (
        <li data-testid="breaker-rule" data-rule-id="loop">
          <strong>Loop guard</strong> <span class="code small">loop</span>: when the same step (the same
          sender, kind of message and subject) comes back more than {loop.maxRepeats}{' '}
          {loop.maxRepeats === 1 ? 'time' : 'times'} in one case's history, or a case grows past{' '}
          {loop.maxHops} steps, it{' '}
          {loop.action === 'freeze'
            ? 'freezes the subject: everything about it waits for a pilot, until a pilot unfreezes it.'
            : 'refuses that message.'}
        </li>
      )}
      {(policy.breakers ?? []).map((rule) => (
        <li key={rule.id} data-testid="breaker-rule" data-rule-id={rule.id}>
          <strong>{rule.id}</strong>: {ruleSentence(rule)}
        </li>
      ))}
      <li data-testid="breaker-rule" data-rule-id="pilot">
        <strong>Pilot freeze</strong> <span class="code small">pilot</span>: a pilot froze a subject by hand
        (below); it stays frozen until a pilot unfreezes it.
      </li>
    </ul>
  );
}
