import { useApi } from '../api/context.js';
import type { Breaker } from '../api/types.js';
import { Age } from '../shell/CodeWords.js';
import { ReasonedAction } from '../shell/ReasonedAction.js';
import { href } from '../shell/route.js';
import { breakerWords } from '../shell/words.js';

/** Frozen subjects: everything about them is held until a pilot unfreezes them. */
export function FrozenList({
  frozen,
  breakers,
  onChanged,
}: {
  frozen: string[];
  breakers: Breaker[];
  onChanged: () => void;
}) {
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
          <span class="muted frozen-by">
            {breakers
              .filter((b) => b.key === subject && b.action === 'freeze')
              .map((b, i) => (
                <span key={b.id}>
                  {i === 0 ? 'frozen by ' : ', '}
                  {breakerWords(b.id)} <Age at={b.openedAt} />
                </span>
              ))}
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
