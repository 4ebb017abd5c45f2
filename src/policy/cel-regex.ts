import type { ASTNode, Environment } from '@marcbachmann/cel-js';
import { RE2JS } from 're2js';

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
 * The predicate with each `.matches(` renamed to the linear `.re2find(`, or the first literal
 * pattern RE2 cannot take (a backreference, a lookahead, a syntax error): such a predicate could
 * never be true or false. Patterns read from the message are checked when they run.
 */
export function withLinearMatches(source: string, ast: ASTNode): string | PatternProblem {
  let text = source;
  for (const call of matchesCalls(ast)) {
    const receiver = call.args[1];
    const pattern = call.args[2][0];
    if (pattern === undefined) continue;
    if (pattern.op === 'value' && typeof pattern.args === 'string') {
      const problem = patternProblem(pattern.args);
      if (problem !== undefined) return { offset: pattern.range.start, reason: problem };
    }
    // The name sits between the receiver's end and the argument: `<receiver> . matches ( <arg>`.
    const between = source.slice(receiver.range.end, pattern.range.start);
    const at = /matches(?=\s*\(\s*$)/.exec(between);
    if (at === null) continue;
    const start = receiver.range.end + at.index;
    text = `${text.slice(0, start)}${LINEAR}${text.slice(start + LINEAR.length)}`;
  }
  return text;
}

/** Why RE2 refuses `pattern`, or undefined when it takes it. */
function patternProblem(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
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
function matchesCalls(node: unknown, found: Extract<ASTNode, { op: 'rcall' }>[] = []) {
  if (Array.isArray(node)) {
    for (const n of node) matchesCalls(n, found);
    return found;
  }
  if (node === null || typeof node !== 'object' || !('op' in node) || !('args' in node)) return found;
  const n = node as ASTNode;
  if (n.op === 'rcall' && n.args[0] === 'matches') found.push(n);
  matchesCalls(n.args, found);
  return found;
}

/**
 * Compiled patterns, most recent up to a bound: a literal pattern is compiled once, and patterns a
 * message brings cannot grow it past the bound.
 */
const compiled = new Map<string, RE2JS>();
const COMPILED_MAX = 256;

/** The compiled pattern; throws an Error saying why RE2 refuses it (the predicate then errs). */
function regexOf(pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (re === undefined) {
    try {
      re = RE2JS.compile(pattern);
    } catch (err) {
      throw new Error(`the pattern ${JSON.stringify(pattern)} is not RE2: ${reasonOfPattern(err)}`);
    }
    if (compiled.size >= COMPILED_MAX) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}
