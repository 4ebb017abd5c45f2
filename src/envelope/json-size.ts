import { MAX_JSON_DEPTH } from './depth.js';

/**
 * An upper bound of the UTF-8 size of `JSON.stringify(value)`, found without writing the text, for
 * plain JSON only: null, booleans, finite numbers, well-formed strings, and arrays and objects (of
 * Object's prototype or none, without `toJSON`) nested at most `max` levels (the value is level 1,
 * as in `tooDeepAt`). Members JSON leaves out (undefined, functions, symbols) count as left out, or
 * as `null` in an array. Undefined for anything else (a BigInt, a Date, a lone surrogate, NaN, a
 * cycle): the caller measures the text instead, and learns why it has none. Pure.
 *
 * Each UTF-16 unit of a string or key counts 6 bytes (`\u00XX`, the longest escape; no unit takes
 * more than 3 bytes of UTF-8) and each number 25 (the longest a double prints, `-2.2250738585072014e-308`,
 * is 24), so the bound is loose by design: it only has to say that a message is well under a limit
 * (the envelope size guard's), which spares most messages a stringify.
 */
export function plainJsonSizeBound(value: unknown, max: number = MAX_JSON_DEPTH): number | undefined {
  const size = boundOf(value, 0, max);
  return size < 0 ? undefined : size;
}

/** The bound of `v` at `depth` containers down, or −1 when it is not plain JSON. */
function boundOf(v: unknown, depth: number, max: number): number {
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
  if (depth >= max) return -1;
  let size = 2;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      const n = leftOut(item) ? 4 : boundOf(item, depth + 1, max);
      if (n < 0) return -1;
      size += n + 1;
    }
    return size;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return -1;
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return -1;
  for (const key in v) {
    const member: unknown = (v as Record<string, unknown>)[key];
    if (leftOut(member)) continue;
    if (!key.isWellFormed()) return -1;
    const n = boundOf(member, depth + 1, max);
    if (n < 0) return -1;
    size += n + 4 + 6 * key.length;
  }
  return size;
}

/** A member JSON.stringify leaves out of an object (and writes as null in an array). */
function leftOut(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}
