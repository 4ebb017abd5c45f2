import type { ChainLink } from '../api/types.js';
import { RuleWords } from './CodeWords.js';
import { detailWords } from './detail-words.js';

/**
 * Why a message got its verdict, in words: in the past tense once its hold was answered, so a
 * lineage never says "is frozen … waits for a pilot" after the pilot answered.
 */
export function VerdictWhy({ link }: { link: ChainLink }) {
  const answered = link.outcomes.some((o) => o.kind === 'hold.released');
  return (
    <>
      <RuleWords reason={link.reason} stage={link.stage} rule={link.rule} past={answered} />
      <div class="muted small" data-testid="verdict-detail" data-tense={answered ? 'then' : 'now'}>
        {detailWords(link.detail, answered ? 'then' : 'now')}
      </div>
    </>
  );
}
