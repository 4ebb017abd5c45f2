import { durationText, timeText } from './time-text.js';
import { useNow } from './use-now.js';
import { agentName, reasonWords } from './words.js';

/** A stop in plain words, its code kept small beside it (and on hover) for whoever searches the logs. */
export function RuleWords({
  reason,
  stage,
  rule,
  past = false,
}: {
  reason: string;
  stage?: string;
  /** A breaker's id: its stop names which breaker (a pilot's freeze, the loop guard, a policy breaker). */
  rule?: string | null;
  /** The hold is answered or its cause gone: say what was true then. */
  past?: boolean;
}) {
  return (
    <span
      class="rule-words"
      data-testid="rule-words"
      data-code={reason}
      data-rule={rule ?? undefined}
      title={reason}
    >
      {reasonWords(reason, stage, rule, past)} <span class="code small">{reason}</span>
    </span>
  );
}

/** An agent or actor by name and version; the full address on hover. */
export function AgentName({ raw, unknown }: { raw: string | null | undefined; unknown?: boolean }) {
  return (
    <span
      class="agent-name"
      title={raw ?? undefined}
      data-testid="agent-name"
      data-unknown={unknown === true}
    >
      {unknown === true ? unknownSender(raw) : agentName(raw)}
    </span>
  );
}

/** A sender the policy does not know (`envelope.unknown_source`): by its bare name, said unknown, never "way in". */
function unknownSender(raw: string | null | undefined): string {
  const bare = (raw ?? '').replace(/^mesh:\/\/[^/]+\//, '').replace(/^(ingress|agent):/, '');
  return `${bare || '—'} (not a sender this mesh knows)`;
}

/** "3m 12s ago", counting on every second; the time itself on hover. */
export function Age({ at }: { at: string | number }) {
  const now = useNow();
  const when = new Date(at).getTime();
  return (
    <span class="age" data-testid="age" title={timeText(at)}>
      {durationText(now - when)} ago
    </span>
  );
}
