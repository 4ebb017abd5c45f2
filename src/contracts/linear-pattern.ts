import { setFlagsFromString } from 'node:v8';
import { type AST, RegExpParser } from '@eslint-community/regexpp';

// A contract's `pattern` runs on every message of its type, partners' included, and JavaScript's
// RegExp backtracks: `^(\w+\s?)*$` on some 30 characters holds the event loop for seconds, the
// whole mesh with it. V8 has a linear-time engine (the `l` flag), but it does not take the `u` flag
// Ajv compiles patterns with, and without `u` some patterns mean something else: `.` or `[^x]` match
// half of an emoji, `\u{61}` is a run of `u`, `\p{L}` is text. So a pattern runs linear when it
// provably answers the same without `u` (sameWithoutUnicode), and as JavaScript's RegExp otherwise.

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

/**
 * A JSON Schema `pattern` as Ajv runs it (`flags` is Ajv's, `u`): on V8's linear-time engine when
 * that gives the same answer for every text, else JavaScript's backtracking RegExp (`linear` false).
 * Throws as `new RegExp(pattern, flags)` does for a pattern that is not one.
 */
export function contractPattern(pattern: string, flags: string): RegExp {
  const regex = new RegExp(pattern, flags);
  const same = flags === '' || (flags === 'u' && sameWithoutUnicode(pattern));
  if (!same || !linearAvailable()) return regex;
  try {
    return new RegExp(pattern, 'l');
  } catch {
    return regex; // a construct the linear engine lacks: a backreference, a lookaround
  }
}

/** Whether `pattern` runs on the linear engine (what `contractPattern` compiles it to). */
export function runsLinear(pattern: string): boolean {
  try {
    return contractPattern(pattern, 'u').flags.includes('l');
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
