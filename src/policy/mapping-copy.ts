/**
 * JSONata built-ins that do a whole value's work in what JSONata counts as one step, and give what
 * the step budget does not weigh (an object), or weigh only after the work is done:
 * - `$clone` (also what a transform, `~> |…|…|`, calls) and `$merge` copy a whole value: a loop
 *   cloning a 700 kB answer 2,000 times held the event loop for a minute (Node 24);
 * - `$sort` merges with a copy of the rest of the list at every item (quadratic): 30,000 numbers
 *   took 3 s and 2 GB, and 100,000 (600 kB of answer) ran the process out of memory.
 * These charge the work to the evaluation's budget first, then do what JSONata does.
 */
import jsonata from 'jsonata';
import { spendWork } from './mapping-work.js';

/** Values and members copied that cost one step (as many as a list a call makes, mapping-eval.ts). */
const NODES_PER_STEP = 8;
/** Characters of strings and member names copied that cost one step. */
const CHARS_PER_STEP = 128;
/** How often the walk pays what it has counted, so a copy past the budget stops early. */
const PAY_EVERY = 1024;

/** JSONata's own, called after the copy is paid for. */
const builtinClone = jsonata('$clone($v)');
const builtinMerge = jsonata('$merge($v)');
const builtinSort = jsonata('$sort($v)');
const builtinSortBy = jsonata('$sort($v, $f)');

/**
 * Charges the copy of `value` (every value, member name and string in it), depth first, without
 * recursion; `membersOnly`: an object's members are counted, not walked into (what `$merge` copies).
 */
function chargeCopy(value: unknown, membersOnly = false): void {
  let nodes = 0;
  let chars = 0;
  const pay = () => {
    spendWork(Math.floor(nodes / NODES_PER_STEP) + Math.floor(chars / CHARS_PER_STEP));
    nodes %= NODES_PER_STEP;
    chars %= CHARS_PER_STEP;
  };
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    nodes++;
    if (typeof node === 'string') chars += node.length;
    else if (node !== null && typeof node === 'object') {
      if (Array.isArray(node)) for (const item of node) stack.push(item);
      else
        for (const [key, item] of Object.entries(node)) {
          chars += key.length;
          if (!membersOnly) stack.push(item);
          else nodes++;
        }
    }
    if (nodes >= PAY_EVERY) pay();
  }
  pay();
}

/** `$clone`: a deep copy, paid for by its size. */
export async function clone(value: unknown): Promise<unknown> {
  if (value === undefined) return undefined;
  chargeCopy(value);
  return builtinClone.evaluate(null, { v: value });
}

/** `$merge`: the members of a list of objects in one, paid for by the members copied. */
export async function merge(objects: unknown): Promise<unknown> {
  if (objects === undefined) return undefined;
  chargeCopy(objects, true);
  return builtinMerge.evaluate(null, { v: objects });
}

/**
 * `$sort`: one step a comparison (n log n of them) paid first, so a list the budget cannot sort is
 * refused before its quadratic copying starts; a comparator's own steps are counted as it runs.
 */
export async function sort(list: unknown, comparator?: unknown): Promise<unknown> {
  if (Array.isArray(list) && list.length > 1) spendWork(list.length * Math.ceil(Math.log2(list.length)));
  return comparator === undefined
    ? builtinSort.evaluate(null, { v: list })
    : builtinSortBy.evaluate(null, { v: list, f: comparator });
}
