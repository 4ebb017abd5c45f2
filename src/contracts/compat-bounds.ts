import { canonicalize } from '../envelope/index.js';
import type { Report, Walk } from './compat.js';

type Node = Readonly<Record<string, unknown>>;
const BREAKING = 'MW_CONTRACT_BREAKING';

/** `enum` and `const`: every value the old schema allowed must still be allowed. */
export function compareValues(w: Walk, O: Node, n: Node, report: Report): void {
  const allowed = valuesOf(n);
  if (allowed === undefined) return;
  const keyword = Object.hasOwn(n, 'const') ? 'const' : 'enum';
  const before = valuesOf(O);
  if (before === undefined) {
    report(
      w,
      BREAKING,
      keyword,
      `${keyword} was added, so only ${shownList(allowed)} ${allowed.length === 1 ? 'is' : 'are'} accepted`,
    );
    return;
  }
  const lost = before.filter((v) => !allowed.some((a) => same(a, v)));
  if (lost.length > 0)
    report(
      w,
      BREAKING,
      keyword,
      `${keyword} narrowed: ${shownList(lost)} ${lost.length === 1 ? 'is' : 'are'} no longer accepted`,
    );
}

function valuesOf(s: Node): readonly unknown[] | undefined {
  const list = Array.isArray(s.enum) ? s.enum : undefined;
  if (!Object.hasOwn(s, 'const')) return list;
  return list === undefined || list.some((v) => same(v, s.const)) ? [s.const] : [];
}

type Applies = {
  readonly number: boolean;
  readonly string: boolean;
  readonly array: boolean;
  readonly object: boolean;
};

/** Ranges, lengths, counts, pattern, format, multipleOf, uniqueItems: only where both sides admit the type. */
export function compareBounds(w: Walk, O: Node, n: Node, applies: Applies, report: Report): void {
  if (applies.number) {
    compareLimit(w, O, n, 'min', report);
    compareLimit(w, O, n, 'max', report);
    const step = n.multipleOf;
    if (typeof step === 'number' && !(typeof O.multipleOf === 'number' && isMultiple(O.multipleOf, step)))
      report(
        w,
        BREAKING,
        'multipleOf',
        `multipleOf ${O.multipleOf === undefined ? `${step} was added` : `changed from ${O.multipleOf} to ${step}`}, so numbers that are not multiples of ${step} are rejected`,
      );
  }
  const counts: [boolean, string, string, string, string, string][] = [
    [applies.string, 'minLength', 'maxLength', 'character', 'characters', 'strings'],
    [applies.array, 'minItems', 'maxItems', 'item', 'items', 'arrays'],
    [applies.object, 'minProperties', 'maxProperties', 'property', 'properties', 'objects'],
  ];
  for (const [on, min, max, one, many, what] of counts) {
    if (!on) continue;
    const units = (k: number) => `${k} ${k === 1 ? one : many}`;
    const oldMin = num(O[min]);
    const newMin = num(n[min]) ?? 0;
    if (newMin > (oldMin ?? 0)) {
      const change =
        oldMin === undefined
          ? `${min} is now ${newMin} (none before)`
          : `${min} went up from ${oldMin} to ${newMin}`;
      // "fewer than 1 item" reads as "empty".
      const rejected = newMin === 1 ? `empty ${what} are` : `${what} of fewer than ${units(newMin)} are`;
      report(w, BREAKING, min, `${change}, so ${rejected} rejected`);
    }
    const oldMax = num(O[max]);
    const newMax = num(n[max]);
    if (newMax !== undefined && (oldMax === undefined || newMax < oldMax)) {
      const change =
        oldMax === undefined
          ? `${max} is now ${newMax} (no limit before)`
          : `${max} went down from ${oldMax} to ${newMax}`;
      report(w, BREAKING, max, `${change}, so ${what} of more than ${units(newMax)} are rejected`);
    }
  }
  if (applies.string) {
    for (const keyword of ['pattern', 'format']) {
      if (n[keyword] === undefined || same(O[keyword], n[keyword])) continue;
      const what =
        O[keyword] === undefined
          ? `${JSON.stringify(n[keyword])} was added`
          : `changed from ${JSON.stringify(O[keyword])} to ${JSON.stringify(n[keyword])}`;
      report(w, BREAKING, keyword, `the ${keyword} ${what}, so strings that do not match it are rejected`);
    }
  }
  if (applies.array && n.uniqueItems === true && O.uniqueItems !== true)
    report(w, BREAKING, 'uniqueItems', 'uniqueItems was added, so arrays with repeated items are rejected');
}

type Limit = { readonly value: number; readonly exclusive: boolean; readonly keyword: string };

/** The tighter of `minimum` and `exclusiveMinimum` (or the maximum pair): none when neither is set. */
function limitOf(s: Node, side: 'min' | 'max'): Limit | undefined {
  const [inclusive, exclusive] =
    side === 'min' ? ['minimum', 'exclusiveMinimum'] : ['maximum', 'exclusiveMaximum'];
  const a = num(s[inclusive]);
  const b = num(s[exclusive]);
  const tighter = (x: number, y: number) => (side === 'min' ? x > y : x < y);
  if (b !== undefined && (a === undefined || tighter(b, a) || b === a))
    return { value: b, exclusive: true, keyword: exclusive };
  return a === undefined ? undefined : { value: a, exclusive: false, keyword: inclusive };
}

function compareLimit(w: Walk, O: Node, n: Node, side: 'min' | 'max', report: Report): void {
  const next = limitOf(n, side);
  if (next === undefined) return;
  const before = limitOf(O, side);
  const narrower =
    before === undefined ||
    (side === 'min' ? next.value > before.value : next.value < before.value) ||
    (next.value === before.value && next.exclusive && !before.exclusive);
  if (!narrower) return;
  const bound = (l: Limit) => `${l.value}${l.exclusive ? ' (exclusive)' : ''}`;
  const word = side === 'min' ? 'lower' : 'upper';
  const rejected = side === 'min' ? `below ${bound(next)}` : `above ${bound(next)}`;
  const change =
    before === undefined
      ? `a ${word} bound of ${bound(next)} was added`
      : `the ${word} bound moved from ${bound(before)} to ${bound(next)}`;
  report(
    w,
    BREAKING,
    next.keyword,
    `${change}, so numbers ${rejected.replace(' (exclusive)', '')}${next.exclusive ? ' or equal to it' : ''} are rejected`,
  );
}

/** Whether every multiple of `a` is a multiple of `b` (a / b a whole number, within float noise). */
function isMultiple(a: number, b: number): boolean {
  const q = a / b;
  return Math.abs(q - Math.round(q)) < 1e-9;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function shownList(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

/** Deep equality of two JSON values. */
export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return canonicalize(a as never) === canonicalize(b as never);
}
