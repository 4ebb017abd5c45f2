import { useApi } from '../api/context.js';
import { ReasonedAction } from '../shell/ReasonedAction.js';
import { href } from '../shell/route.js';

/** Frozen subjects: everything about them is held until a pilot unfreezes them. */
export function FrozenList({ frozen, onChanged }: { frozen: string[]; onChanged: () => void }) {
  const api = useApi();
  if (frozen.length === 0) {
    return (
      <p class="empty" data-testid="frozen-empty">
        No subject is frozen.
      </p>
    );
  }
  return (
    <ul class="frozen-list">
      {frozen.map((subject) => (
        <li key={subject} class="frozen-subject" data-testid="frozen-subject" data-subject={subject}>
          <span class="frozen-name">
            <span aria-hidden="true">❄</span> <a href={href.search(subject)}>{subject}</a>
          </span>
          <ReasonedAction
            label="Unfreeze"
            tone="neutral"
            testid="unfreeze-button"
            question={`Why unfreeze ${subject}?`}
            act={(reason) => api.post('/unfreeze', { subject, reason })}
            onDone={onChanged}
          />
        </li>
      ))}
    </ul>
  );
}
