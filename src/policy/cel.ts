import { Environment } from '@marcbachmann/cel-js';
import type { Envelope } from '../envelope/index.js';

/**
 * One CEL environment for every approval predicate: `msg` is the envelope. Building an environment
 * is expensive, parsing against it is cheap, and parsed predicates are reused for every message.
 *
 * Numbers: JSON numbers arrive as JS numbers, which CEL treats as doubles, while a literal like
 * `50` is a CEL int. Comparisons between the two already work in CEL (`amount > 50` and
 * `amount > 50.0` agree); arithmetic does not (`amount + 1` is "no such overload"). The mixed
 * overloads below make arithmetic work the way a pilot expects, with a double result.
 */
const ARITHMETIC: Readonly<Record<string, (a: number, b: number) => number>> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
};

const env = new Environment().registerVariable('msg', 'map');
for (const [op, fn] of Object.entries(ARITHMETIC)) {
  env.registerOperator(`double ${op} int`, (a: number, b: bigint) => fn(a, Number(b)));
  env.registerOperator(`int ${op} double`, (a: bigint, b: number) => fn(Number(a), b));
}

export type Predicate = (msg: Envelope) => boolean | Error;

export type CompiledPredicate =
  | { readonly ok: true; readonly test: Predicate }
  | { readonly ok: false; readonly reason: string };

/** Parses and type-checks a CEL predicate once. The result must be able to be true or false. */
export function compilePredicate(source: string): CompiledPredicate {
  let parsed: ReturnType<typeof env.parse>;
  try {
    parsed = env.parse(source);
  } catch (err) {
    return { ok: false, reason: reasonOf(err) };
  }
  const checked = parsed.check();
  if (!checked.valid) return { ok: false, reason: reasonOf(checked.error) };
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return { ok: false, reason: `it gives a ${String(checked.type)}, not true or false` };
  }
  return {
    ok: true,
    test: (msg) => {
      try {
        const result: unknown = parsed({ msg });
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

/** The first line of a cel-js error: the rest is a source excerpt for terminals. */
function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    const summary = (err as { summary?: unknown }).summary;
    return typeof summary === 'string' && summary !== ''
      ? summary
      : (err.message.split('\n')[0] ?? err.message);
  }
  return String(err);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return `the number ${value}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return typeof value === 'object' ? 'a list or map' : `${typeof value} ${String(value)}`;
}
