/**
 * Regular expressions in mappings: V8's linear-time engine (the `l` flag), so none backtracks, and
 * their matching counted into the evaluation's step budget, since linear is not small: the engine
 * scans the text once per pattern state, and a 50-word alternation over a 1 MiB answer took 8 s
 * (Node 24) in what JSONata counts as one step.
 */
import { linearAvailable } from '../contracts/index.js';
import { spendWork } from './mapping-work.js';

/** A regex literal's linear-time twin; throws when it needs backtracking (a back-reference, a look-around). */
function linear(re: RegExp): RegExp {
  return new RegExp(re.source, re.flags.includes('l') ? re.flags : `${re.flags}l`);
}

/** Why a regex literal may not be in a mapping, or undefined when it runs in linear time. */
export function regexProblem(re: RegExp): string | undefined {
  if (!linearAvailable())
    return 'regular expressions are not available in mappings on this Node.js (it has no linear-time engine); use $contains, $substringBefore, $split or $replace with a string';
  try {
    linear(re);
    return undefined;
  } catch {
    return `the regular expression /${re.source}/ needs backtracking (a back-reference or a look-around), which has no time bound; write it without`;
  }
}

/**
 * Characters scanned times pattern characters that make one step. Measured on Node 24: 45 to 120
 * such units take a microsecond, about what one JSONata step takes. So the default budget lets a
 * 40-character pattern scan about 160 000 characters, a 340-character one about 19 000.
 */
const UNITS_PER_STEP = 64;

function steps(scanned: number, re: RegExp): number {
  return Math.ceil((Math.max(0, scanned) * re.source.length) / UNITS_PER_STEP);
}

/**
 * What JSONata makes each regex with (its `RegexEngine` option; it calls it with `new`, and a
 * constructor may return another object). JSONata only sets `lastIndex` and calls `exec`; each
 * `exec` pays for the text it scans.
 */
export const LinearRegExp = function LinearRegExp(re: RegExp) {
  const inner = linear(re);
  return {
    get lastIndex() {
      return inner.lastIndex;
    },
    set lastIndex(at: number) {
      inner.lastIndex = at;
    },
    exec(text: string) {
      // The worst case is paid first (a scan to the end), so that a budget that cannot cover it
      // fails before the work, not after; what a match did not scan is given back.
      const from = inner.global || inner.sticky ? inner.lastIndex : 0;
      const worst = steps(text.length - from, inner);
      spendWork(worst);
      const match = inner.exec(text);
      if (match !== null) spendWork(steps(match.index + match[0].length - from, inner) - worst);
      return match;
    },
  };
} as unknown as RegExpConstructor;
