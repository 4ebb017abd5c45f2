/**
 * Running one JSONata expression within bounds that do not depend on the clock: a step budget
 * counted through JSONata's `__evaluate_entry` hook (and charged for long strings read or made and
 * long lists made, at `__evaluate_exit`), a nesting depth (its `stack` option), a bound on every
 * string made on the way and on sequence lengths, and a bound on the result's JSON text.
 */
import jsonata from 'jsonata';
import { type JsonValue, quotedText } from '../envelope/index.js';
import { clone, merge, sort } from './mapping-copy.js';
import { LinearRegExp } from './mapping-regex.js';
import { length, substring } from './mapping-strings.js';
import { distinct, spendWork, withWork } from './mapping-work.js';

/** Functions a mapping may not call: they read the clock or chance, or evaluate a string as code. */
export const BANNED_FUNCTIONS: readonly string[] = ['now', 'millis', 'random', 'shuffle', 'eval'];

export type MappingLimits = {
  /** Evaluation steps (expression nodes entered) for one evaluation of a whole template. */
  readonly maxSteps: number;
  /** Nesting depth of the evaluation (calls and sub-expressions inside each other). */
  readonly maxDepth: number;
  /** Largest JSON text of the result, and longest string made on the way (UTF-16 units). */
  readonly maxBytes: number;
  /** `{{ }}` sites in one template, checked when it is compiled. */
  readonly maxSites: number;
};

export const MAPPING_LIMITS: MappingLimits = {
  maxSteps: 100_000,
  maxDepth: 300,
  maxBytes: 1 << 20,
  maxSites: 1_000,
};

/** Why an evaluation failed: a bound was passed, the value is not JSON, or JSONata raised an error. */
export type MappingFailure = 'steps' | 'depth' | 'size' | 'nothing' | 'not-json' | 'error';

/**
 * One evaluation of a whole template, shared by all its sites: the steps taken, and `room`, the
 * JSON text its sites may still make. Bound into each expression's frame under a name no expression
 * can write.
 */
export type Budget = { steps: number; readonly room: { left: number }; readonly limits: MappingLimits };

/**
 * Characters of a string that cost one step each time an expression reads it (a path, a
 * variable): JSONata counts reading a megabyte as one step, and what follows (a scan) is linear in
 * it; a thousand sites, or a loop, each over a megabyte would hold the warden for minutes. About
 * what V8 scans in the time of one step (Node 24).
 */
const READ_CHARS_PER_STEP = 1024;

/**
 * Characters of a string made by a call, `~>` or `&` that cost one step: making costs more than
 * reading (`$string` of a 700 kB answer took 20 ms, Node 24), so a megabyte made is 8,000 steps.
 */
const MADE_CHARS_PER_STEP = 128;

/**
 * Items of a list made by a call that cost one step: `$split(text, "")` makes a million strings in
 * one step (190 ms for a 1 MiB answer, Node 24), about 5 items in the time of one step.
 */
const ITEMS_PER_STEP = 8;

/**
 * Items of a list that cost one step each time an expression reads it (a path, a variable): an
 * aggregate over it (`$sum`, `$max`, `$average`) is linear in it and gives a number, which nothing
 * else weighs; `$max` of 100,000 numbers held in a variable, in a loop, held the warden for 47 s
 * within the budget (Node 24). About 2 µs of `$max` a step.
 */
const READ_ITEMS_PER_STEP = 256;

const BUDGET = 'mw budget';
const FAILURE = Symbol('meshwarden mapping failure');

type Tagged = Error & { [FAILURE]?: MappingFailure };

function failure(kind: MappingFailure, problem: string): Tagged {
  return Object.assign(new Error(problem), { [FAILURE]: kind });
}

type Environment = { lookup(name: string): unknown };

/** Counts `steps` into the budget; past it, the evaluation fails. */
function spend(budget: Budget, steps: number): void {
  budget.steps += steps;
  if (budget.steps > budget.limits.maxSteps)
    throw failure('steps', `it takes more than ${budget.limits.maxSteps} evaluation steps`);
}

function budgetOf(environment: Environment): Budget | undefined {
  return environment.lookup(BUDGET) as Budget | undefined;
}

/** The longest sequence an expression may make: making n items is n steps' worth of work done in one. */
function sequenceBound(limits: MappingLimits): number {
  return Math.min(limits.maxSteps, limits.maxBytes);
}

/** Parses an expression (throws JSONata's syntax error) and arms it with the bounds. */
export function prepare(expr: string, limits: MappingLimits): jsonata.Expression {
  const expression = jsonata(expr, {
    stack: limits.maxDepth,
    sequence: sequenceBound(limits),
    RegexEngine: LinearRegExp,
  });
  expression.assign(
    Symbol.for('jsonata.__evaluate_entry') as unknown as string,
    (_e: unknown, _i: unknown, env: Environment) => {
      const budget = budgetOf(env);
      if (budget !== undefined) spend(budget, 1);
    },
  );
  expression.assign(
    Symbol.for('jsonata.__evaluate_exit') as unknown as string,
    (e: AstNode, _i: unknown, env: Environment, result: unknown) => {
      const budget = budgetOf(env);
      const max = budget?.limits.maxBytes ?? limits.maxBytes;
      if (typeof result === 'string' && result.length > max)
        throw failure('size', `it makes a string longer than ${max} characters`);
      if (budget === undefined) return;
      const steps = workOf(e, result);
      if (steps > 0) spend(budget, steps);
    },
  );
  // $pad allocates its whole width in one step: bounded like every other string.
  expression.registerFunction(
    'pad',
    (s: string, width: number, char?: string) => pad(s, width, char, limits),
    '<s-ns?:s>',
  );
  expression.registerFunction('length', length, '<s-:n>');
  expression.registerFunction('substring', substring, '<s-nn?:s>');
  // JSONata's $distinct is quadratic in one step; this one is linear, and counted.
  expression.registerFunction('distinct', distinct, '<x:x>');
  // $clone (a transform calls it too) and $merge copy a whole value in one step: paid for by its size.
  expression.registerFunction('clone', clone, '<(oa)-:o>');
  expression.registerFunction('merge', merge, '<a<o>:o>');
  // JSONata's $sort copies the rest of the list at every item: paid for up front, n log n.
  expression.registerFunction('sort', sort, '<af?:a>');
  for (const name of BANNED_FUNCTIONS) {
    expression.registerFunction(name, () => {
      throw failure('error', `$${name} is not allowed in a mapping`);
    });
  }
  return expression;
}

type AstNode = { readonly type?: string; readonly value?: unknown };

/**
 * The steps a node's result costs beyond the one its entry paid: its strings when it read them (a
 * path, a variable) or made them (a call, `~>`, `&`), and the items of a list a call made. The
 * nodes that only pass a value on (a block, a condition) are not counted again.
 */
function workOf(e: AstNode, result: unknown): number {
  const call = e.type === 'function' || e.type === 'apply';
  let steps = 0;
  if (call || (e.type === 'binary' && e.value === '&'))
    steps += Math.floor(textLength(result) / MADE_CHARS_PER_STEP);
  else if (e.type === 'path' || e.type === 'variable') {
    steps += Math.floor(textLength(result) / READ_CHARS_PER_STEP);
    if (Array.isArray(result)) steps += Math.floor(result.length / READ_ITEMS_PER_STEP);
  }
  if (call && Array.isArray(result)) steps += Math.floor(result.length / ITEMS_PER_STEP);
  return steps;
}

/** Characters of a node's string result; a path gives its strings as a sequence (a list of one, often). */
function textLength(result: unknown): number {
  if (typeof result === 'string') return result.length;
  if (!Array.isArray(result) || (result as { sequence?: unknown }).sequence !== true) return 0;
  let chars = 0;
  for (const item of result) if (typeof item === 'string') chars += item.length;
  return chars;
}

function pad(s: string | undefined, width: number, char: string | undefined, limits: MappingLimits) {
  if (s === undefined) return undefined;
  const w = Math.trunc(width);
  if (Math.abs(w) > limits.maxBytes)
    throw failure('size', `it makes a string longer than ${limits.maxBytes} characters`);
  const fill = [...(char === undefined || char === '' ? ' ' : char)];
  const missing = Math.abs(w) - [...s].length;
  if (missing <= 0) return s;
  // Paid before the string is made: $map([1..n], $pad(?, 1000000)) calls it with no hook around it.
  spendWork(Math.floor(missing / MADE_CHARS_PER_STEP));
  const padding =
    fill.join('').repeat(Math.floor(missing / fill.length)) + fill.slice(0, missing % fill.length).join('');
  return w > 0 ? s + padding : padding + s;
}

/**
 * How much of JSONata's error text a problem keeps: it quotes the value it failed on (`$number`,
 * `$toMillis`), and `$error`'s text is the value, which may be a hostile answer's megabyte.
 */
const PROBLEM_CHARS = 300;

export type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly kind: MappingFailure; readonly problem: string };

/** Evaluates against `context`, counting steps into `budget`. Never throws. */
export async function run(
  expression: jsonata.Expression,
  context: Readonly<Record<string, unknown>>,
  budget: Budget,
): Promise<Outcome> {
  try {
    // Work inside a step (a regex's scan, $distinct) is counted into the same budget (mapping-work.ts).
    const value = await withWork(
      (steps) => spend(budget, steps),
      () => expression.evaluate(context, { [BUDGET]: budget }),
    );
    return { ok: true, value };
  } catch (err) {
    const tagged = (err as Tagged)[FAILURE];
    if (tagged !== undefined) return { ok: false, kind: tagged, problem: (err as Error).message };
    const code = (err as { code?: unknown }).code;
    if (code === 'D1011')
      return { ok: false, kind: 'depth', problem: `it nests deeper than ${budget.limits.maxDepth} levels` };
    if (code === 'D2014' || code === 'D2015')
      return {
        ok: false,
        kind: 'size',
        problem: `it makes a sequence longer than ${sequenceBound(budget.limits)} items`,
      };
    // A stack overflow inside a JSONata built-in (a huge regex, say) is still only this mapping's failure.
    const message =
      err instanceof Error || typeof (err as { message?: unknown }).message === 'string'
        ? String((err as { message: unknown }).message)
        : String(err);
    const text = quotedText(message, PROBLEM_CHARS);
    return { ok: false, kind: 'error', problem: typeof code === 'string' ? `${text} (${code})` : text };
  }
}

export type Json =
  | { readonly ok: true; readonly value: JsonValue | undefined }
  | { readonly ok: false; readonly kind: MappingFailure; readonly problem: string };

/**
 * A JSONata value as plain JSON (sequences become arrays, undefined members are dropped), or why it
 * is not JSON. `room` is how much JSON text may still be made; the count stops early past it.
 */
export function toJson(value: unknown, room: { left: number }, max: number, maxDepth: number): Json {
  const spend = (n: number) => {
    room.left -= n;
    if (room.left < 0) throw failure('size', `its JSON text is longer than ${max} characters`);
  };
  // An answer's JSON may nest deeper than any mapping builds (`[[[[…` in 1 MiB): bounded, not a stack overflow.
  const walk = (v: unknown, depth = 0): JsonValue | undefined => {
    if (depth > maxDepth) throw failure('depth', `its value nests deeper than ${maxDepth} levels`);
    if (v === undefined) return undefined;
    // What each value adds to the JSON text, as JSON.stringify writes it (escapes aside).
    if (v === null || typeof v === 'boolean') {
      spend(v === false ? 5 : 4);
      return v;
    }
    if (typeof v === 'string') {
      spend(v.length + 2);
      return v;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw failure('not-json', `it gives ${v}, which JSON cannot hold`);
      spend(String(v).length);
      return v;
    }
    if (typeof v === 'function' || (typeof v === 'object' && isJsonataFunction(v)))
      throw failure('not-json', 'it gives a function, not a JSON value');
    if (typeof v !== 'object') throw failure('not-json', `it gives a ${typeof v}, not a JSON value`);
    if (Array.isArray(v)) {
      const out: JsonValue[] = [];
      for (const item of v) {
        const j = walk(item, depth + 1);
        if (j !== undefined) out.push(j);
        spend(1);
      }
      return out;
    }
    const out: Record<string, JsonValue> = {};
    for (const [key, item] of Object.entries(v)) {
      const j = walk(item, depth + 1);
      if (j === undefined) continue;
      setMember(out, key, j);
      spend(key.length + 4); // its quotes, the colon and a comma
    }
    return out;
  };
  try {
    return { ok: true, value: walk(value) };
  } catch (err) {
    const kind = (err as Tagged)[FAILURE];
    if (kind === undefined) throw err;
    return { ok: false, kind, problem: (err as Error).message };
  }
}

function isJsonataFunction(v: object): boolean {
  return '_jsonata_function' in v || '_jsonata_lambda' in v;
}

/** `out[key] = value`, also for the key `__proto__` (a JSON member like any other, not the prototype). */
export function setMember(out: Record<string, JsonValue>, key: string, value: JsonValue): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}
