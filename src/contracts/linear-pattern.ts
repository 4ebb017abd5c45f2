import { setFlagsFromString } from 'node:v8';
import { type AST, RegExpParser } from '@eslint-community/regexpp';

// A contract's `pattern` runs on every message of its type, partners' included, and JavaScript's
// RegExp backtracks: `^(\w+\s?)*$` on 20 words and a `!` held the event loop for 83 s, the whole
// mesh with it, and even `[a-z]+@` takes seconds on 100,000 letters (quadratic: every start, every
// length). V8's linear-time engine (the `l` flag) answers in time linear in the text, at 0.3 to
// 1.3 µs a match where the backtracking one takes 15 to 30 ns. (V8's hand-over to it after 50,000
// backtracks was tried: it never fires for a simple greedy loop, so `[a-z]+@` stayed quadratic.)
// The linear engine does not take the `u` flag Ajv compiles with, and without `u` some patterns
// mean something else: `.` or `[^x]` match half of an emoji, `\u{61}` is a run of `u`, `\p{L}` is
// text. So a pattern runs linear when it provably answers the same (sameWithoutUnicode); one that
// cannot and may still backtrack badly is refused at load (contract-files.ts, mayBacktrack).

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
 * that answers the same for every text, else as `new RegExp(pattern, flags)`. Throws as that does
 * for a pattern that is not one.
 */
export function contractPattern(pattern: string, flags: string): RegExp {
  return linearOf(pattern, flags) ?? new RegExp(pattern, flags);
}

/**
 * Whether `pattern` runs on the linear engine as `contractPattern` compiles it: it answers alike
 * without `u`, and the linear engine takes it (no backreference, no lookaround, no repeat over 16).
 */
export function runsLinear(pattern: string, flags = 'u'): boolean {
  return linearOf(pattern, flags) !== undefined;
}

/** `pattern` compiled for the linear engine, when it answers there as with `flags`; else undefined. */
function linearOf(pattern: string, flags: string): RegExp | undefined {
  if (flags !== '' && !(flags === 'u' && sameWithoutUnicode(pattern))) return undefined;
  if (!linearAvailable()) return undefined;
  try {
    return new RegExp(pattern, 'l');
  } catch {
    return undefined;
  }
}

/** `pattern`'s syntax tree as the `u` flag reads it, or undefined when it is not a pattern there. */
function unicodeTree(pattern: string): AST.Pattern | undefined {
  try {
    return new RegExpParser({ ecmaVersion: 2025 }).parsePattern(pattern, 0, pattern.length, {
      unicode: true,
    });
  } catch {
    return undefined;
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
  const ast = unicodeTree(pattern);
  if (ast === undefined) return false;
  const parts = { canSplit: 0, inRepeat: false };
  return ast.alternatives.every((a) => alike(a, false, parts)) && parts.canSplit <= 1;
}

/**
 * `free`: the node is the element of a `*` or `+` quantifier, so that an astral character is one
 * repetition or two, both allowed. Such parts are counted in `parts.canSplit`: two of them could split
 * one emoji between them (`^.+.+$` matches "😀" without `u`, not with it), so only one may be.
 */
function alike(node: AST.Node, free: boolean, parts: Parts): boolean {
  switch (node.type) {
    case 'Alternative':
      return node.elements.every((e) => alike(e, false, parts));
    case 'Group':
      // (?i:…) folds case by Unicode rules with `u` (ſ, K) and by simple ones without.
      if (node.modifiers !== null && node.modifiers !== undefined) return false;
      return node.alternatives.every((a) => alike(a, false, parts));
    case 'CapturingGroup':
      return node.alternatives.every((a) => alike(a, false, parts));
    case 'Quantifier': {
      const unbounded = node.max === Number.POSITIVE_INFINITY && node.min <= 1;
      // A group repeated more than once repeats what is in it: a part in it is many parts.
      const group = node.element.type === 'Group' || node.element.type === 'CapturingGroup';
      if (!group || node.max <= 1) return alike(node.element, unbounded, parts);
      const outer = parts.inRepeat;
      parts.inRepeat = true;
      const same = alike(node.element, unbounded, parts);
      parts.inRepeat = outer;
      return same;
    }
    case 'Assertion':
      return node.kind === 'start' || node.kind === 'end' || node.kind === 'word';
    case 'Character':
      return bmpOnly(node.value) && !node.raw.startsWith('\\u{');
    case 'CharacterSet':
      if (node.kind === 'any') return split(free, parts);
      if (node.kind === 'digit' || node.kind === 'space' || node.kind === 'word')
        return !node.negate || split(free, parts);
      return false; // \p{…}
    case 'CharacterClass': {
      if (node.unicodeSets) return false;
      const negated = node.elements.some((e) => e.type === 'CharacterSet' && 'negate' in e && e.negate);
      if ((node.negate || negated) && !split(free, parts)) return false;
      return node.elements.every((e) => classPartAlike(e, true));
    }
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

/** What sameWithoutUnicode counts on its walk. */
type Parts = { canSplit: number; inRepeat: boolean };

/**
 * A part that can match half an astral character: alike only where `free` and not inside a repeated
 * group, and counted.
 */
function split(free: boolean, parts: Parts): boolean {
  if (!free || parts.inRepeat) return false;
  parts.canSplit++;
  return true;
}

/** A code unit below the surrogates: one unit in either mode, and never half of a character. */
function bmpOnly(value: number): boolean {
  return value < 0xd800;
}

/**
 * How badly a pattern left to the backtracking engine may take its time on a hostile text:
 * `exponential` when a repetition sits inside a repetition (`(\w+\s?){1,30}`) or alternatives that
 * may overlap are repeated (`(?:\p{L}|\p{Ll})*`), refused at load; `polynomial` when it repeats
 * without bound (`\p{L}+`: every start, every length), warned of; undefined when it runs linear or
 * repeats a bounded number of times only (`^.{1,64}$`).
 */
export function backtrackRisk(pattern: string): 'exponential' | 'polynomial' | undefined {
  if (runsLinear(pattern)) return undefined;
  const ast = unicodeTree(pattern);
  if (ast === undefined) return undefined;
  const found = { exponential: false, unbounded: false };
  for (const a of ast.alternatives) riskIn(a, false, found);
  return found.exponential ? 'exponential' : found.unbounded ? 'polynomial' : undefined;
}

/** Walks `node`, `inside` a repetition or not, noting what backtracks exponentially or without bound. */
function riskIn(node: AST.Node, inside: boolean, found: { exponential: boolean; unbounded: boolean }): void {
  switch (node.type) {
    case 'Alternative':
      for (const e of node.elements) riskIn(e, inside, found);
      return;
    case 'Group':
    case 'CapturingGroup':
      if (inside && node.alternatives.length > 1) found.exponential = true;
      for (const a of node.alternatives) riskIn(a, inside, found);
      return;
    case 'Assertion':
      if (node.kind === 'lookahead' || node.kind === 'lookbehind')
        for (const a of node.alternatives) riskIn(a, inside, found);
      return;
    case 'Quantifier': {
      const repeats = node.max > 1;
      if (repeats && inside) found.exponential = true;
      if (node.max === Number.POSITIVE_INFINITY) found.unbounded = true;
      riskIn(node.element, inside || repeats, found);
      return;
    }
    default:
      return;
  }
}
