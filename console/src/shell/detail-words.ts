// The gate's detail sentences, written for logs (`pilot: account:5570 is frozen (opened at <ISO> by
// pilot:admin) …`), retold for a pilot: who froze it in words, a local time, and the past tense once
// the hold is answered or the freeze is gone (`then`).
import { timeText } from './time-text.js';
import { agentName } from './words.js';

/** `now`: the hold waits and its cause still holds; `then`: what was true when it was decided. */
export type Tense = 'now' | 'then';

/** Who opened a breaker, from its `by`: a pilot by name, the loop guard, or the breaker's rule. */
export function whoFroze(by: string): string {
  if (by === 'loop') return 'the loop guard';
  if (by.startsWith('pilot:')) return agentName(by);
  return `breaker ${by.replace(/^breaker:/, '')}`;
}

const FROZEN = /^(.+?): (.+?) is frozen \(opened at (\S+) by (.+?)\); the message waits for a pilot\.$/;
const OPEN = /^(.+?): the breaker for (.+?) is open \(opened at (\S+) by (.+?)\); the message is denied\.$/;
const APPROVAL = /^(.+?), so a pilot must (approve|decide); without a decision in (.+?) it is (\w+)\.$/;
const LOOP = /^(Loop guard: .+); (.+?) is frozen until a pilot releases it\.$/;
const PASSED = /^(\S+) from (ingress )?(.+?) for (.+?) passed every guard\.$/;
const TRIPPED = /^(.+?); the breaker is open and (.+?) is frozen (?:until a pilot resets it|for .+?)\.$/;

/** A verdict's detail sentence in a pilot's words; a sentence it does not know stays as it is. */
export function detailWords(detail: string, tense: Tense): string {
  return caseWords(retold(detail, tense));
}

/**
 * The console's one word for a chain of messages is "case", a hop is a "step": the loop guard's
 * sentences, written for logs, say "chain" and "hop".
 */
function caseWords(text: string): string {
  return text
    .replace(/ in this chain\b/g, ' in this case')
    .replace(
      / is hop (\d+) of its chain, past the limit of (\d+) hops/g,
      ' is step $1 of its case, past the limit of $2 steps',
    );
}

function retold(detail: string, tense: Tense): string {
  const frozen = FROZEN.exec(detail);
  if (frozen !== null) {
    const [, , key, at, by] = frozen;
    const since = `${whoFroze(by!)}, since ${timeText(at)}`;
    return tense === 'now'
      ? `${key} is frozen by ${since}; the message waits for a pilot.`
      : `It was held because ${key} was frozen by ${since}.`;
  }
  const open = OPEN.exec(detail);
  if (open !== null) {
    const [, rule, key, at, by] = open;
    return `It was denied because breaker ${rule} was open for ${key} (opened by ${whoFroze(by!)}, ${timeText(at)}).`;
  }
  const approval = APPROVAL.exec(detail);
  if (approval !== null) {
    const [, why, verb, span, onTimeout] = approval;
    if (tense === 'now')
      return `${why}, so a pilot must ${verb}; without a decision in ${span} it is ${onTimeout}.`;
    const past = why!.replace(/ holds$/, ' held');
    return `It was held because ${past}, so a pilot had to ${verb}.`;
  }
  // One word per idea: the console says "check" where the gate's log line says "guard".
  const passed = PASSED.exec(detail);
  if (passed !== null) {
    const [, type, ingress, from, subject] = passed;
    const who = ingress === undefined ? agentName(from) : agentName(`ingress:${from}`);
    return `${type} from ${who} for ${subject} passed every check.`;
  }
  // The message that tripped a freezing breaker: once the freeze is gone, what was true then.
  const tripped = TRIPPED.exec(detail);
  if (tripped !== null && tense === 'then')
    return `It was held because ${tripped[1]}, so the breaker opened and ${tripped[2]} was frozen.`;
  const loop = LOOP.exec(detail);
  // What was true then, without saying whether the freeze was lifted since (an approval does not).
  if (loop !== null && tense === 'then') return `${loop[1]}; so ${loop[2]} was frozen.`;
  return detail;
}
