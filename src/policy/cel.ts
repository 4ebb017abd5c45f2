import { Environment } from '@marcbachmann/cel-js';
import type { Envelope } from '../envelope/index.js';
import { leftMatches, registerLinearMatches, withLinearMatches } from './cel-regex.js';

/**
 * One CEL environment for every approval predicate: `msg` is the envelope. Building an environment
 * is expensive, parsing against it is cheap, and parsed predicates are reused for every message.
 *
 * Numbers: JSON numbers arrive as JS numbers, which CEL treats as doubles (an `integer` in a
 * contract too), while a literal like `50` is a CEL int. Comparisons between the two already work
 * in CEL (`amount > 50` and `amount > 50.0` agree); arithmetic does not (`amount + 1` is "no such
 * overload"). The mixed overloads below make `+ - * /` work the way a pilot expects, with a double
 * result. `%` stays whole numbers only, as in CEL: `int(msg.data.n) % 50` (cel-check.ts hints it).
 */
const ARITHMETIC: Readonly<Record<string, (a: number, b: number) => number>> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
};

/** An environment with the mixed arithmetic and no variables: the type checker declares its own `msg`. */
export function createCelEnvironment(): Environment {
  const env = new Environment();
  for (const [op, fn] of Object.entries(ARITHMETIC)) {
    env.registerOperator(`double ${op} int`, (a: number, b: bigint) => fn(a, Number(b)));
    env.registerOperator(`int ${op} double`, (a: bigint, b: number) => fn(Number(a), b));
  }
  registerLinearMatches(env);
  return env;
}

const env = createCelEnvironment().registerVariable('msg', 'map');

export type Predicate = (msg: Envelope) => boolean | Error;

export type CompiledPredicate =
  | { readonly ok: true; readonly test: Predicate }
  | {
      readonly ok: false;
      readonly reason: string;
      /** Where in the source the mistake is (0-based), when known. */
      readonly offset?: number;
      /** How to fix it, a clause starting with `; `, or empty. */
      readonly hint: string;
    };

/** Parses and type-checks a CEL predicate once. The result must be able to be true or false. */
export function compilePredicate(source: string): CompiledPredicate {
  let parsed: ReturnType<typeof env.parse>;
  try {
    parsed = env.parse(source);
  } catch (err) {
    return { ok: false, reason: reasonOf(err), ...at(err), hint: syntaxHint(source, err) };
  }
  const checked = parsed.check();
  if (!checked.valid) return { ok: false, reason: reasonOf(checked.error), ...at(checked.error), hint: '' };
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    const reason = `it gives a ${String(checked.type)}, not true or false`;
    return { ok: false, reason, hint: '; compare it, like msg.data.amount > 50' };
  }
  // What runs: the same predicate with its `matches` run by RE2 (cel-regex.ts).
  const linear = withLinearMatches(source, parsed.ast);
  if (typeof linear !== 'string')
    return { ok: false, reason: linear.reason, offset: linear.offset, hint: RE2_HINT };
  let runnable = parsed;
  try {
    if (linear !== source) runnable = env.parse(linear);
  } catch {
    return { ok: false, reason: UNRENAMED, hint: RE2_HINT };
  }
  // Fail closed: a matches call left on the backtracking engine is refused, never run.
  const missed = leftMatches(runnable.ast);
  if (missed !== undefined) return { ok: false, reason: UNRENAMED, offset: missed, hint: RE2_HINT };
  return {
    ok: true,
    test: (msg) => {
      try {
        const result: unknown = runnable({ msg });
        return typeof result === 'boolean'
          ? result
          : new Error(`the predicate gave ${describe(result)}, not true or false`);
      } catch (err) {
        // A missing field (`msg.data.amount` on a payload without it) lands here: a value, never a throw.
        return new Error(reasonOf(err), { cause: err });
      }
    },
  };
}

const UNRENAMED = 'its matches call could not be put on the linear engine; write it as text.matches(pattern)';

const RE2_HINT = '; CEL patterns are RE2: no backreferences (\\1) and no lookaround ((?=…), (?!…))';

/** The first line of a cel-js error: the rest is a source excerpt for terminals. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    const summary = (err as { summary?: unknown }).summary;
    return typeof summary === 'string' && summary !== ''
      ? summary
      : (err.message.split('\n')[0] ?? err.message);
  }
  return String(err);
}

/** Where a cel-js error starts in the source, when it says. */
function at(err: unknown): { offset?: number } {
  const start = (err as { range?: { start?: unknown } } | undefined)?.range?.start;
  return typeof start === 'number' ? { offset: start } : {};
}

/** The usual slips from other languages: `=`, `===`, `&`, `and`, single `|`. */
function syntaxHint(source: string, err: unknown): string {
  const offset = at(err).offset;
  if (offset === undefined) return '';
  const here = source.slice(offset);
  const before = source.slice(0, offset);
  if (here.startsWith('=') && before.endsWith('==')) return '; CEL compares with ==, not ===';
  if (here.startsWith('=') && !/[=!<>]$/.test(before))
    return '; CEL compares with ==, and a lone = is not an operator';
  if (here.startsWith('&') || here.startsWith('|')) return '; CEL joins conditions with && and ||';
  if (/^(and|or|not)\b/.test(here) || /\b(and|or|not)\s*$/.test(before))
    return '; CEL joins conditions with &&, || and !';
  return '';
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return `the number ${value}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return typeof value === 'object' ? 'a list or map' : `${typeof value} ${String(value)}`;
}
