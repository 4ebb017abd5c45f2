import type { Breaker, ChainLink } from '../api/types.js';
import { RuleWords } from './CodeWords.js';
import { detailWords } from './detail-words.js';
import { verdictTense } from './verdict-tense.js';

/** Why a message got its verdict, in words, in `verdictTense`. */
export function VerdictWhy({ link, open }: { link: ChainLink; open?: readonly Breaker[] | undefined }) {
  const tense = verdictTense(link, open);
  return (
    <>
      <RuleWords reason={link.reason} stage={link.stage} rule={link.rule} past={tense === 'then'} />
      <div class="muted small" data-testid="verdict-detail" data-tense={tense}>
        {detailWords(link.detail, tense)}
      </div>
    </>
  );
}
