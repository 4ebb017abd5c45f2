import type { Breaker, Hold } from '../api/types.js';
import { Age } from '../shell/CodeWords.js';
import { timeText } from '../shell/time-text.js';
import { breakerWords } from '../shell/words.js';

/**
 * Before approving anything for a frozen subject: which freeze, since when, and what approving will
 * and will not do (docs/api.md, approve: the freeze stays).
 */
export function FrozenWarning({ hold, freezes }: { hold: Hold; freezes: Breaker[] }) {
  if (freezes.length === 0) return null;
  const first = freezes[0]!;
  const heldByFreeze = hold.stage === 'loop' || hold.stage === 'breaker';
  const names = freezes.map((b) => breakerWords(b.id)).join(' and ');
  return (
    <div
      class="notice warning frozen-warning"
      role="alert"
      data-testid="frozen-warning"
      data-breakers={freezes.map((b) => b.id).join(',')}
    >
      <p>
        <strong>
          {hold.subject} is frozen by the {names}
        </strong>{' '}
        (since {timeText(first.openedAt)}, <Age at={first.openedAt} />
        ).
      </p>
      <p>
        {heldByFreeze
          ? `Approving lets this one ${hold.type} through: it is checked again without the loop guard and the freeze, while rate limits and budgets still apply (they may still refuse it).`
          : `Approving lets this ${hold.type} through now, although ${hold.subject} is frozen.`}{' '}
        It does <strong>not</strong> unfreeze {hold.subject}: everything else about it stays held. To end the
        freeze, unfreeze it in “Breakers &amp; frozen”.
      </p>
    </div>
  );
}
