import type { BreakerRuleView, PolicyView } from '../api/types.js';
import { ruleSentence } from './rule-sentence.js';

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
        <li
          key={rule.id}
          data-testid="breaker-rule"
          data-rule-id={rule.id}
          data-count={rule.count}
          data-over={rule.over}
          data-scope={rule.scope}
          data-window-ms={rule.windowMs}
          data-share={shareOf(rule, policy.partitions ?? 1)}
        >
          <strong>{rule.id}</strong>: {ruleSentence(rule, policy.partitions ?? 1)}
        </li>
      ))}
      <li data-testid="breaker-rule" data-rule-id="pilot">
        <strong>Pilot freeze</strong> <span class="code small">pilot</span>: a pilot froze a subject by hand
        (below); it stays frozen until a pilot unfreezes it.
      </li>
    </ul>
  );
}

/** The count past which the breaker trips in one partition: all of `over`, or a partition's share. */
function shareOf(rule: BreakerRuleView, partitions: number): number {
  return rule.scope === 'entity' || partitions <= 1 ? rule.over : Math.floor(rule.over / partitions);
}
