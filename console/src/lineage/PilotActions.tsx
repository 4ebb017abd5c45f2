import type { PilotAction } from '../api/types.js';
import { timeText } from '../shell/time-text.js';
import { agentName, breakerWords } from '../shell/words.js';

const DID: Record<string, string> = { freeze: 'froze', unfreeze: 'unfroze', reset: 'reset' };

/** What pilots did to this lineage's subjects (freezes, unfreezes, resets), oldest first. */
export function PilotActions({ actions }: { actions: PilotAction[] | undefined }) {
  if (actions === undefined || actions.length === 0) {
    return <p class="muted">No pilot has frozen, unfrozen or reset anything for these subjects.</p>;
  }
  return (
    <ul class="pilot-actions" data-testid="pilot-actions">
      {actions.map((a) => (
        <li
          key={`${a.at} ${a.action} ${a.subject}`}
          data-testid="pilot-action"
          data-action={a.action}
          data-in-force={a.inForce === true ? 'true' : undefined}
        >
          {timeText(a.at)}: <strong title={a.pilot}>{agentName(a.pilot)}</strong> {DID[a.action] ?? a.action}
          {a.breaker === undefined ? '' : ` ${breakerWords(a.breaker)}`} {a.action === 'reset' ? 'for' : ''}{' '}
          {a.subject}: “{a.reason}”
          {a.inForce === true && <span class="muted"> (in force when these messages were held)</span>}
        </li>
      ))}
    </ul>
  );
}
