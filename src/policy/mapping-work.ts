/**
 * Work that JSONata does inside one evaluation step, counted into the evaluation's step budget all
 * the same: a regex's scan (mapping-regex.ts), and `$distinct`, whose JSONata version compares
 * every item with every item kept (150 000 distinct numbers in a 1 MiB answer: 10^10 comparisons).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { canonicalize } from '../envelope/index.js';

/** Who pays for the work of the evaluation in progress (per evaluation, across awaits). */
const payer = new AsyncLocalStorage<(steps: number) => void>();

/** Runs one evaluation whose work inside steps `charge` pays for, in steps. */
export function withWork<T>(charge: (steps: number) => void, evaluate: () => T): T {
  return payer.run(charge, evaluate);
}

/** Counts `steps` into the budget of the evaluation in progress (a negative count gives back). */
export function spendWork(steps: number): void {
  payer.getStore()?.(steps);
}

/** Characters of an item's JSON text that make one step of `$distinct`. */
const CHARS_PER_STEP = 64;

/**
 * `$distinct` in linear time: items are the same when their canonical JSON texts are (JSONata's
 * deep equality: arrays in order, objects in any key order). An item with no JSON text (a
 * function) is the same only as itself. Keeps a sequence a sequence, as JSONata does.
 */
export function distinct(items: unknown): unknown {
  if (!Array.isArray(items) || items.length <= 1) return items;
  const seen = new Set<unknown>();
  const out: unknown[] = [];
  spendWork(items.length);
  for (const item of items) {
    let key: unknown = item;
    if (item !== null && typeof item === 'object') {
      try {
        key = canonicalize(item);
        spendWork(Math.ceil((key as string).length / CHARS_PER_STEP));
      } catch {
        key = item;
      }
    } else if (typeof item === 'string') key = `"${item}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(item);
  }
  if ((items as { sequence?: unknown }).sequence === true)
    Object.defineProperty(out, 'sequence', { value: true, configurable: true });
  return out;
}
