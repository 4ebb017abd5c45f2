/**
 * The packed table's columns (state/packed.ts): each `<kind>|<rule>` a key starts with gets a number
 * once, buckets and windows numbered apart from one shared count, so one scope may hold both.
 */

/** Columns of one kind found by comparing in place, before the map is asked. */
const SCANNED = 16;

/** One kind's columns by name: all in `map`, the first `SCANNED` also in `names` (their numbers alongside). */
export type Columns = {
  readonly map: Map<string, number>;
  readonly names: string[];
  readonly numbers: number[];
  /** Whether this kind is windows (else buckets). */
  readonly windows: boolean;
  /** By column number, shared by both kinds: whether it holds windows (else buckets). */
  readonly isWindow: boolean[];
};

/** Both kinds' columns, sharing one numbering. */
export function createColumns(): { bucket: Columns; window: Columns; isWindow: readonly boolean[] } {
  const isWindow: boolean[] = [];
  const bucket: Columns = { map: new Map(), names: [], numbers: [], windows: false, isWindow };
  const window: Columns = { map: new Map(), names: [], numbers: [], windows: true, isWindow };
  return { bucket, window, isWindow };
}

/** Where a key's column ends and its scope begins: its second `|`, or -1. */
export function separator(key: string): number {
  const first = key.indexOf('|');
  return first < 0 ? -1 : key.indexOf('|', first + 1);
}

/**
 * An independent flat copy of a string. A scope key sliced from a state key would keep the whole key
 * alive (a V8 sliced string), and one built by concatenation keeps its parts (a cons string); the
 * copy costs its own characters only. Run once per new scope, never on the hot path of a lookup.
 */
export function flatCopy(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/**
 * The column a key's `<kind>|<rule>` names (`sep` from `separator`), numbered now if `add`; or -1. A
 * policy has few, so the first `SCANNED` of a kind are compared in place with the key's start (no
 * name sliced out of every key, no hash of it); the map holds them all.
 */
export function columnOf(columns: Columns, key: string, sep: number, add: boolean): number {
  const length = Math.max(sep, 0);
  const { names } = columns;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name.length === length && key.startsWith(name)) return columns.numbers[i]!;
  }
  if (!add && names.length < SCANNED) return -1;
  const name = sep < 0 ? '' : key.slice(0, sep);
  let column = columns.map.get(name);
  if (column === undefined && add) {
    column = columns.isWindow.length;
    columns.isWindow.push(columns.windows);
    const copy = flatCopy(name);
    columns.map.set(copy, column);
    if (names.length < SCANNED) {
      names.push(copy);
      columns.numbers.push(column);
    }
  }
  return column ?? -1;
}
