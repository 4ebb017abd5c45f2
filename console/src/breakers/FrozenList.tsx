import { useApi } from '../api/context.js';
import type { Breaker } from '../api/types.js';
import { Age } from '../shell/CodeWords.js';
import { whoFroze } from '../shell/detail-words.js';
import { ReasonedAction } from '../shell/ReasonedAction.js';
import { href } from '../shell/route.js';
import { breakerWords } from '../shell/words.js';

/** Frozen subjects: everything about them is held until a pilot unfreezes them. */
export function FrozenList({
  frozen,
  breakers,
  onChanged,
  said,
}: {
  frozen: string[];
  breakers: Breaker[];
  onChanged: () => void;
  /** Tells the page what an action did, in words. */
  said: (text: string) => void;
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
    <>
      <p class="hint" data-testid="unfreeze-hint">
        <strong>Unfreeze</strong> lifts every freeze on a subject at once (a pilot’s, the loop guard’s, a
        breaker’s). <strong>Reset</strong>, under “Open breakers”, closes one breaker for one subject and
        clears its count; for a subject frozen only by a pilot, both do the same. Messages already held stay
        held: answer them in “Held”.
      </p>
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
                  <span key={b.id} data-testid="frozen-by" data-breaker-id={b.id}>
                    {i === 0 ? 'frozen by ' : ', '}
                    {b.id === 'pilot' ? whoFroze(b.by) : breakerWords(b.id)} <Age at={b.openedAt} />
                    {b.reason !== undefined && <span data-testid="freeze-reason">: “{b.reason}”</span>}
                  </span>
                ))}
            </span>
            <ReasonedAction
              label="Unfreeze"
              tone="neutral"
              testid="unfreeze-button"
              question={`Why unfreeze ${subject}?`}
              act={(reason) =>
                api
                  .post('/unfreeze', { subject, reason })
                  .then(() =>
                    said(
                      `${subject} is unfrozen: what comes about it now is checked as usual. What is already held stays held: answer it in Held.`,
                    ),
                  )
              }
              onDone={onChanged}
              example="e.g. the customer confirmed it was them"
            />
          </li>
        ))}
      </ul>
    </>
  );
}
