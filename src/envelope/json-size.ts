import { isBoxedPrimitive } from 'node:util/types';
import { MAX_JSON_DEPTH } from './depth.js';

/**
 * An upper bound of the UTF-8 size of `JSON.stringify(value)`, found without writing the text, when
 * that bound is at most `limit` and the value is plain JSON: null, booleans, finite numbers,
 * well-formed strings, and arrays and objects nested at most `max` levels (the value is level 1, as
 * in `tooDeepAt`), none with a `toJSON`, the objects of Object's prototype or none and not a boxed
 * primitive (JSON reads those by their internal slot, whatever their prototype). Members JSON leaves
 * out (undefined, functions, symbols) count as left out, or as `null` in an array. Undefined for
 * anything else (a BigInt, a Date, a lone surrogate, NaN, a cycle, a bound past `limit`): the caller
 * then writes the text and measures it, and learns why there is none. Pure, but for what getters do.
 *
 * Each UTF-16 unit of a string or key counts 6 bytes (`\u00XX`, the longest escape; no unit takes
 * more than 3 bytes of UTF-8) and each number 25 (the most a double prints, as in
 * `-0.0000054912413052566055`), so the bound is loose by design: it only has to say that a message is
 * within a limit (the envelope size guard's), which spares nearly every message a stringify.
 */
export function plainJsonSizeBound(
  value: unknown,
  limit: number,
  max: number = MAX_JSON_DEPTH,
): number | undefined {
  const size = boundOf(value, 0, max, limit);
  return size < 0 ? undefined : size;
}

/** The bound of `v` at `depth` containers down, or −1 when it is not plain JSON or passes `limit`. */
function boundOf(v: unknown, depth: number, max: number, limit: number): number {
  switch (typeof v) {
    case 'string':
      return v.isWellFormed() ? 2 + 6 * v.length : -1;
    case 'number':
      return Number.isFinite(v) ? 25 : -1;
    case 'boolean':
      return 5;
    case 'object':
      break;
    default:
      return -1;
  }
  if (v === null) return 4;
  if (depth >= max || typeof (v as { toJSON?: unknown }).toJSON === 'function') return -1;
  let size = 2;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      const n = leftOut(item) ? 4 : boundOf(item, depth + 1, max, limit);
      if (n < 0) return -1;
      size += n + 1;
      if (size > limit) return -1;
    }
    return size;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if ((proto !== Object.prototype && proto !== null) || isBoxedPrimitive(v)) return -1;
  for (const key in v) {
    const member: unknown = (v as Record<string, unknown>)[key];
    if (leftOut(member)) continue;
    if (!key.isWellFormed()) return -1;
    const n = boundOf(member, depth + 1, max, limit);
    if (n < 0) return -1;
    size += n + 4 + 6 * key.length;
    if (size > limit) return -1;
  }
  return size;
}

/** A member JSON.stringify leaves out of an object (and writes as null in an array). */
function leftOut(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}
