import type { Breaker, Hold } from '../api/types.js';
import { Age } from '../shell/CodeWords.js';
import { frozenWhat } from '../shell/freezes.js';
import { timeText } from '../shell/time-text.js';
import { frozenByWords } from '../shell/words.js';

/**
 * Before approving anything frozen (its subject, its sender, a path from it, or the whole mesh):
 * which freeze, since when, and what approving will and will not do (docs/api.md, approve: the
 * freeze stays). `freezes` undefined: not known yet, and the pilot is told so.
 */
export function FrozenWarning({ hold, freezes }: { hold: Hold; freezes: Breaker[] | undefined }) {
  if (freezes === undefined) {
    return (
      <p class="notice frozen-unknown" data-testid="frozen-unknown">
        Checking whether {hold.subject} or its sender is frozen… Approving waits until that is known.
      </p>
    );
  }
  if (freezes.length === 0) return null;
  const first = freezes[0]!;
  const heldByFreeze = hold.stage === 'loop' || hold.stage === 'breaker';
  const names = freezes
    .map((b) => `${frozenWhat(b, hold.subject)} by ${frozenByWords(b.id, b.by)}`)
    .join(' and ');
  return (
    <div
      class="notice warning frozen-warning"
      role="alert"
      data-testid="frozen-warning"
      data-breakers={freezes.map((b) => b.id).join(',')}
      data-keys={freezes.map((b) => b.key).join(',')}
    >
      <p>
        <strong>Frozen: {names}</strong> (since {timeText(first.openedAt)}, <Age at={first.openedAt} />
        ).
      </p>
      <p>
        {heldByFreeze
          ? `Approving lets this one ${hold.type} through: it is checked again without the loop guard and the freeze, while rate limits and budgets still apply (they may still refuse it).`
          : `Approving lets this ${hold.type} through now, although it is frozen.`}{' '}
        It does <strong>not</strong> unfreeze anything: everything else the freeze covers stays held. To end
        the freeze, unfreeze or reset it in “Breakers &amp; frozen”.
      </p>
      {freezes.some((b) => b.key === hold.subject) && (
        <p data-testid="frozen-next">
          So what its agents send next about {hold.subject} is held again, here, while the freeze stands.
        </p>
      )}
    </div>
  );
}

/**
 * Before approving a step of a case at or past the loop guard's step limit (held for any reason):
 * approving lets this step through, and whatever comes next in its case is past the limit, so the
 * loop guard stops it: held and its subject frozen again, unfrozen meanwhile or not, or refused
 * when the guard's action is deny. Rejecting ends the case here. `maxHops` undefined: only a step
 * already past the limit (the guard's own hold) is known to be one.
 */
export function StepLimitWarning({
  hold,
  maxHops,
  loopAction,
}: {
  hold: Hold;
  maxHops?: number | undefined;
  loopAction?: 'freeze' | 'deny' | undefined;
}) {
  const past = hold.reason === 'loop.too_many_hops' || (maxHops !== undefined && hold.hop > maxHops);
  if (!past && hold.hop !== maxHops) return null;
  const limit = maxHops === undefined ? '' : ` of ${maxHops}`;
  const next =
    loopAction === 'deny'
      ? 'refused by the loop guard, which ends the case there.'
      : `held again by the loop guard, which freezes ${hold.subject} again, even if you unfroze it.`;
  return (
    <p
      class="notice warning"
      role="alert"
      data-testid="step-limit-warning"
      data-kind={past ? 'past' : 'last'}
    >
      {past
        ? `This case is already past its step limit (this is step ${hold.hop}${limit}).`
        : `This is step ${hold.hop} of its case, the last its step limit (${maxHops}) allows.`}{' '}
      Approving lets this step through, and whatever comes next in its case is {next} To end the case here,
      reject.
    </p>
  );
}
