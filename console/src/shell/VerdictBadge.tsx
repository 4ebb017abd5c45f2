import type { Decision } from '../api/types.js';

const WORDS: Record<Decision, string> = {
  deliver: 'delivered',
  deny: 'denied',
  hold: 'held',
  quarantine: 'quarantined',
};

/** The verdict as a coloured word; colour never carries the meaning alone. */
export function VerdictBadge({ verdict }: { verdict: Decision }) {
  return (
    <span class={`verdict verdict-${verdict}`} data-testid="verdict-badge" data-verdict={verdict}>
      {WORDS[verdict] ?? verdict}
    </span>
  );
}
