import type { Breaker, ChainLink } from '../api/types.js';
import type { Tense } from './detail-words.js';
import { freezeGone } from './freezes.js';

/**
 * The tense of a verdict's sentence: the past once its hold was answered, or once the freeze that
 * held it is gone (`open`: the breakers open now, when known), so no view says "is frozen … waits
 * for a pilot" of what a pilot answered or unfroze.
 */
export function verdictTense(link: ChainLink, open: readonly Breaker[] | undefined): Tense {
  const answered = link.outcomes.some((o) => o.kind === 'hold.released');
  // Only a hold waits on a freeze: a denial by a breaker or the loop guard froze nothing it names.
  return answered || (link.verdict === 'hold' && freezeGone(link, open)) ? 'then' : 'now';
}
