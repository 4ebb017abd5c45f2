import type { ASTNode, Environment } from '@marcbachmann/cel-js';
import { RE2JS } from 're2js';
import { policyError } from './errors.js';

// CEL's `matches` is specified as RE2, which matches in time linear in the text. cel-js runs it
// with a JavaScript RegExp, which backtracks: `msg.data.text.matches("^(a+)+$")` on 41 characters
// held the event loop for over a minute, so one message could stall the whole mesh. cel-js cannot
// replace a built-in overload, so a predicate's `matches` calls are renamed in its text (the AST
// says where) to `re2find`, the same length, so every offset stays true, which runs RE2JS.

/** What `matches` is renamed to: as long as `matches`, so offsets into the predicate hold. */
const LINEAR = 're2find';

/** Registers `string.re2find(string): bool`: CEL's `matches` (a search, as in cel-go) run by RE2. */
export function registerLinearMatches(env: Environment): void {
  env.registerFunction(`string.${LINEAR}(string): bool`, (text: string, pattern: string) =>
    regexOf(pattern).matcher(text).find(),
  );
}

/** A pattern that is not RE2, at the predicate's offset of its string. */
export type PatternProblem = { readonly offset: number; readonly reason: string };

/**
 * The predicate with each `.matches(` renamed to the linear `.re2find(`, or why it cannot be: a
 * pattern that is not a string written in the predicate; the first one RE2 cannot take (a
 * backreference, a lookahead, a syntax error) or that repeats a part over MAX_REPEAT times; or a
 * call whose name is not where it should be. It fails closed: a `matches` left to the backtracking
 * engine is the hole this closes. The caller parses the text again and checks with `leftMatches`
 * that no call was missed.
 */
export function withLinearMatches(source: string, ast: ASTNode): string | PatternProblem {
  // The renamed function is the warden's: written by hand, it would take any pattern unchecked.
  const direct = matchesCalls(ast, LINEAR)[0];
  if (direct !== undefined)
    return { offset: direct.range.start, reason: `${LINEAR} is not a CEL function; write matches` };
  let text = source;
  for (const call of matchesCalls(ast)) {
    const pattern = call.args[2][0];
    // Only a pattern written in the predicate: one a message brings could be made to take a minute
    // (RE2 is linear in the text, but a short pattern like [^#]{1000}… compiles to a large program).
    if (pattern?.op !== 'value' || typeof pattern.args !== 'string')
      return { offset: pattern?.range.start ?? call.range.start, reason: NOT_LITERAL };
    const compiled = compileLiteral(pattern.args);
    if (typeof compiled === 'string') return { offset: pattern.range.start, reason: compiled };
    literals.set(pattern.args, compiled);
    const start = nameAfter(source, call.args[1].range.end);
    if (start === undefined) return { offset: call.range.start, reason: UNPLACED };
    text = `${text.slice(0, start)}${LINEAR}${text.slice(start + LINEAR.length)}`;
  }
  return text;
}

/** The offset of a `matches` call the renaming missed, in the renamed predicate's AST; or undefined. */
export function leftMatches(ast: ASTNode): number | undefined {
  return matchesCalls(ast)[0]?.range.start;
}

const NOT_LITERAL =
  'its matches takes a pattern written in the predicate, as a string: one a message brings could be made to take a minute';

/** The most a pattern may repeat a part: RE2's program, and its time, grow with the count. */
const MAX_REPEAT = 100;

const UNPLACED =
  'its matches call could not be read where its name should be; write it as text.matches(pattern)';

/**
 * Where `matches` starts after a receiver that ends at `from`: past spaces, `//` comments and the
 * receiver's closing parentheses, a `.`, then spaces and comments again. Undefined when what is
 * there is not that.
 */
function nameAfter(source: string, from: number): number | undefined {
  let i = skipFill(source, from, true);
  if (source[i] !== '.') return undefined;
  i = skipFill(source, i + 1, false);
  const after = source.charCodeAt(i + LINEAR.length);
  const identifier =
    (after >= 0x30 && after <= 0x39) ||
    (after >= 0x41 && after <= 0x5a) ||
    (after >= 0x61 && after <= 0x7a) ||
    after === 0x5f;
  return source.startsWith('matches', i) && !identifier ? i : undefined;
}

/** Past spaces, `//` comments to the end of their line and, where `parens`, closing parentheses. */
function skipFill(source: string, from: number, parens: boolean): number {
  let i = from;
  while (i < source.length) {
    if (/\s/.test(source[i]!) || (parens && source[i] === ')')) i++;
    else if (source.startsWith('//', i)) {
      const end = source.indexOf('\n', i);
      i = end < 0 ? source.length : end + 1;
    } else break;
  }
  return i;
}

/** `pattern` compiled, or why a predicate may not have it (RE2 refuses it, or it repeats too much). */
function compileLiteral(pattern: string): RE2JS | string {
  for (const m of pattern.matchAll(/\{\s*(\d+)\s*(?:,\s*(\d*)\s*)?\}/g)) {
    const count = Math.max(Number(m[1]), Number(m[2] || 0));
    if (count > MAX_REPEAT)
      return `its pattern ${JSON.stringify(pattern)} repeats a part ${count} times, over the ${MAX_REPEAT} a predicate's pattern may (the time to match grows with it); use + or * or a smaller count`;
  }
  try {
    return RE2JS.compile(pattern);
  } catch (err) {
    return `its pattern ${JSON.stringify(pattern)} is not a regular expression CEL takes (RE2): ${reasonOfPattern(err)}`;
  }
}

/** RE2JS's reason without its prefix: `missing closing ): \`(\``. */
function reasonOfPattern(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^error parsing regexp: /, '');
}

/** The `.matches(…)` calls of an AST, outermost first. */
function matchesCalls(node: unknown, name = 'matches', found: Extract<ASTNode, { op: 'rcall' }>[] = []) {
  if (Array.isArray(node)) {
    for (const n of node) matchesCalls(n, name, found);
    return found;
  }
  if (node === null || typeof node !== 'object' || !('op' in node) || !('args' in node)) return found;
  const n = node as ASTNode;
  if (n.op === 'rcall' && n.args[0] === name) found.push(n);
  matchesCalls(n.args, name, found);
  return found;
}

/**
 * The predicates' patterns, compiled when the predicates are (only a pattern written in a predicate
 * may run): as many as the policies loaded in this process have.
 */
const literals = new Map<string, RE2JS>();

/**
 * The compiled pattern: always one of `literals`, since a predicate with any other is refused. Any
 * other throws a typed error (the predicate then errs), never runs unchecked.
 */
function regexOf(pattern: string): RE2JS {
  const re = literals.get(pattern);
  if (re !== undefined) return re;
  throw policyError('MW_POLICY_PATTERN_NOT_RE2', {
    pattern: JSON.stringify(pattern),
    reason: 'it was not checked as a predicate was compiled',
  });
}
