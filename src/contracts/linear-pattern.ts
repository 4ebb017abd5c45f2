import { setFlagsFromString } from 'node:v8';
import { type AST, RegExpParser } from '@eslint-community/regexpp';

// A contract's `pattern` runs on every message of its type, partners' included, and JavaScript's
// RegExp backtracks: `^(\w+\s?)*$` on 20 words and a `!` held the event loop for 83 s, the whole
// mesh with it. V8 can hand a regex that backtracks too long (50,000 backtracks) to its linear-time
// engine, which then answers in linear time; it stays on the fast engine otherwise (15 to 30 ns a
// match either way here, where the linear engine alone took 0.3 to 1.3 µs). That hand-over does not
// work with the `u` flag Ajv compiles patterns with, and without `u` some patterns mean something
// else: `.` or `[^x]` match half of an emoji, `\u{61}` is a run of `u`, `\p{L}` is text. So a
// pattern runs without `u` when it provably answers the same (sameWithoutUnicode), and as Ajv would
// otherwise.

function hasLinearEngine(): boolean {
  try {
    // biome-ignore lint/complexity/useRegexLiterals: a literal with the l flag does not parse without the V8 flag
    return new RegExp('a', 'l').flags.includes('l');
  } catch {
    return false;
  }
}

let linearEngine: boolean | undefined;

/**
 * Whether the `l` flag works. The V8 flag that enables it changes no regex without it (measured on
 * Node 20 and 24: same results and times, code caches still accepted). Still, V8 flags are
 * process-wide and Node calls changing them after start unsupported, so it is set only when a
 * pattern is compiled that needs it, once.
 */
export function linearAvailable(): boolean {
  if (linearEngine === undefined) {
    if (!hasLinearEngine()) setFlagsFromString('--enable-experimental-regexp-engine');
    linearEngine = hasLinearEngine();
  }
  return linearEngine;
}

let handOver = false;

/** Lets V8 hand a regex without `u` that backtracks too long to the linear engine; once. */
function allowHandOver(): void {
  if (handOver) return;
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  handOver = true;
}

/**
 * A JSON Schema `pattern` as Ajv runs it (`flags` is Ajv's, `u`): without `u`, where V8 hands it to
 * the linear-time engine if it backtracks too long, when that answers the same for every text; else
 * as `new RegExp(pattern, flags)`. Throws as that does for a pattern that is not one.
 */
export function contractPattern(pattern: string, flags: string): RegExp {
  const regex = new RegExp(pattern, flags);
  if (!runsLinear(pattern, flags)) return regex;
  allowHandOver();
  return flags === '' ? regex : new RegExp(pattern, '');
}

/**
 * Whether `pattern` never backtracks for long as `contractPattern` compiles it: it answers alike
 * without `u`, and the linear engine takes it (no backreference, no lookaround, no repeat over 16).
 */
export function runsLinear(pattern: string, flags = 'u'): boolean {
  if (flags !== '' && !(flags === 'u' && sameWithoutUnicode(pattern))) return false;
  if (!linearAvailable()) return false;
  try {
    new RegExp(pattern, 'l');
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `pattern` answers the same for every text without the `u` flag as with it. Without `u` a
 * text is UTF-16 units, so an astral character (an emoji) is two; with it one. Any part that can
 * match only one unit that is not a surrogate (`a`, `[a-z]`, `\d`, `\w`, `\s`) answers alike either
 * way. A part that can match a surrogate (`.`, `[^x]`, `\S`, `\D`, `\W`) answers alike only when it
 * repeats without an upper bound and needs at most one (`*`, `+`): one astral character is then one
 * repetition or two, both allowed. What the two modes read differently (`\u{…}`, `\p{…}`, astral or
 * surrogate characters, backreferences, lookarounds, modifiers) is left to the backtracking engine.
 */
export function sameWithoutUnicode(pattern: string): boolean {
  let ast: AST.Pattern;
  try {
    ast = new RegExpParser({ ecmaVersion: 2025 }).parsePattern(pattern, 0, pattern.length, { unicode: true });
  } catch {
    return false;
  }
  return ast.alternatives.every((a) => alike(a, false));
}

/** `free`: the node is the element of a `*` or `+` quantifier, so matching a surrogate is harmless. */
function alike(node: AST.Node, free: boolean): boolean {
  switch (node.type) {
    case 'Alternative':
      return node.elements.every((e) => alike(e, false));
    case 'Group':
    case 'CapturingGroup':
      return node.alternatives.every((a) => alike(a, false));
    case 'Quantifier': {
      const unbounded = node.max === Number.POSITIVE_INFINITY && node.min <= 1;
      return alike(node.element, unbounded);
    }
    case 'Assertion':
      return node.kind === 'start' || node.kind === 'end' || node.kind === 'word';
    case 'Character':
      return bmpOnly(node.value) && !node.raw.startsWith('\\u{');
    case 'CharacterSet':
      if (node.kind === 'any') return free;
      if (node.kind === 'digit' || node.kind === 'space' || node.kind === 'word') return !node.negate || free;
      return false; // \p{…}
    case 'CharacterClass':
      if (node.unicodeSets) return false;
      if (node.negate && !free) return false;
      return node.elements.every((e) => classPartAlike(e, free));
    default:
      return false; // backreferences, lookarounds, modifiers
  }
}

function classPartAlike(node: AST.CharacterClassElement, free: boolean): boolean {
  switch (node.type) {
    case 'Character':
      return bmpOnly(node.value) && !node.raw.startsWith('\\u{');
    case 'CharacterClassRange':
      return classPartAlike(node.min, free) && classPartAlike(node.max, free);
    case 'CharacterSet':
      if (node.kind === 'digit' || node.kind === 'space' || node.kind === 'word') return !node.negate || free;
      return false;
    default:
      return false;
  }
}

/** A code unit below the surrogates: one unit in either mode, and never half of a character. */
function bmpOnly(value: number): boolean {
  return value < 0xd800;
}

/**
 * Whether a pattern left to the backtracking engine has the shape that can take exponential time: a
 * repetition inside a repetition (`(\w+\s?){1,30}`). Said at load, so the contract's author can
 * write it otherwise; a pattern that runs linear never is.
 */
export function mayBacktrack(pattern: string): boolean {
  if (runsLinear(pattern)) return false;
  let ast: AST.Pattern;
  try {
    ast = new RegExpParser({ ecmaVersion: 2025 }).parsePattern(pattern, 0, pattern.length, { unicode: true });
  } catch {
    return false;
  }
  return ast.alternatives.some((a) => nestedRepeat(a, false));
}

/** Whether a repetition (more than once) sits inside another, below `node`. */
function nestedRepeat(node: AST.Node, inside: boolean): boolean {
  switch (node.type) {
    case 'Alternative':
      return node.elements.some((e) => nestedRepeat(e, inside));
    case 'Group':
    case 'CapturingGroup':
      return node.alternatives.some((a) => nestedRepeat(a, inside));
    case 'Assertion':
      return (
        (node.kind === 'lookahead' || node.kind === 'lookbehind') &&
        node.alternatives.some((a) => nestedRepeat(a, inside))
      );
    case 'Quantifier': {
      const repeats = node.max > 1;
      if (repeats && inside) return true;
      return nestedRepeat(node.element, inside || repeats);
    }
    default:
      return false;
  }
}
