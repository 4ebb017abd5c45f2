import type { BucketState, WindowState } from './types.js';
import { WINDOW_SLOTS } from './window.js';

/**
 * Buckets and windows packed per scope key, the bulk of the memory store. With three keys per entity
 * (a bucket, a budget and a breaker count), a Map entry, a key string and an object per key cost 494
 * bytes of heap per entity at a million entities; packed, 189 (bench/scale.ts).
 *
 * A key `<kind>|<rule>|<scope>` (state/keys.ts) splits at its second `|` into a column
 * (`<kind>|<rule>`, one of a few, numbered once) and a scope key (`account:8841`). Each scope key
 * holds one array of numbers, its records one after the other:
 *
 *   bucket: [head, tat]                    head = column * 2^24 + payload length
 *   window: [head, slotMs, start, ...slots]
 *
 * A key without two `|` is a scope of its own in column ''. Buckets and windows number their
 * columns apart, so one key may hold both, as with separate maps.
 */
export type PackedTable = {
  bucket(key: string): BucketState | undefined;
  window(key: string): WindowState | undefined;
  setBucket(key: string, state: BucketState): void;
  setWindow(key: string, state: WindowState): void;
  /** Drops full buckets and windows with nothing live at `now`; returns how many records went. */
  evict(now: number): number;
  /** Live records (keys). */
  size(): number;
};

const COLUMN = 2 ** 24;
/** Columns of one kind found by comparing in place, before the map is asked. */
const SCANNED = 16;

/** One kind's columns by name: all in `map`, the first `SCANNED` also in `names` (their numbers alongside). */
type Columns = { readonly map: Map<string, number>; readonly names: string[]; readonly numbers: number[] };

/** Where a key's column ends and its scope begins: its second `|`, or -1. */
function separator(key: string): number {
  const first = key.indexOf('|');
  return first < 0 ? -1 : key.indexOf('|', first + 1);
}

/**
 * An independent flat copy of a string. A scope key sliced from a state key would keep the whole key
 * alive (a V8 sliced string), and one built by concatenation keeps its parts (a cons string); the
 * copy costs its own characters only. Run once per new scope, never on the hot path of a lookup.
 */
function flatCopy(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/** Index of the head of `column`'s record in `records`, or -1. */
function find(records: readonly number[], column: number): number {
  for (let i = 0; i < records.length; ) {
    const head = records[i]!;
    const len = head % COLUMN;
    if (head - len === column * COLUMN) return i;
    i += 1 + len;
  }
  return -1;
}

/** A new array of exactly `n` numbers (`push` would leave spare capacity). */
function exact(n: number): number[] {
  return new Array<number>(n);
}

export function createPackedTable(): PackedTable {
  const scopes = new Map<string, number[]>();
  const bucketColumns: Columns = { map: new Map(), names: [], numbers: [] };
  const windowColumns: Columns = { map: new Map(), names: [], numbers: [] };
  /** By column number: whether it holds windows (else buckets). */
  const isWindow: boolean[] = [];
  let records = 0;

  /**
   * The column a key's `<kind>|<rule>` names. A policy has few, so the first `SCANNED` of a kind are
   * compared in place with the key's start (no name sliced out of every key, no hash of it); the
   * map holds them all.
   */
  const columnOf = (columns: Columns, key: string, sep: number, add: boolean): number => {
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
      column = isWindow.length;
      isWindow.push(columns === windowColumns);
      const copy = flatCopy(name);
      columns.map.set(copy, column);
      if (names.length < SCANNED) {
        names.push(copy);
        columns.numbers.push(column);
      }
    }
    return column ?? -1;
  };

  /** Where `locate` found its record: the scope's array (the index is what it returns). */
  let located: number[] = [];
  /** The index of the head of `key`'s record in `columns`, its array left in `located`; or -1. */
  const locate = (columns: Columns, key: string): number => {
    const sep = separator(key);
    const column = columnOf(columns, key, sep, false);
    if (column < 0) return -1;
    const list = scopes.get(sep < 0 ? key : key.slice(sep + 1));
    if (list === undefined) return -1;
    located = list;
    return find(list, column);
  };

  /** Writes a record (head plus `payload` numbers) for `key`, replacing its previous one. */
  const put = (columns: Columns, key: string, payload: readonly number[]): void => {
    const sep = separator(key);
    const column = columnOf(columns, key, sep, true);
    // windowAdd keeps WINDOW_SLOTS slots; only a corrupted state could reach this.
    if (payload.length >= COLUMN) throw new RangeError(`state ${key} has ${payload.length} numbers`);
    const head = column * COLUMN + payload.length;
    const scope = sep < 0 ? key : key.slice(sep + 1);
    const list = scopes.get(scope);
    if (list === undefined) {
      const fresh = exact(1 + payload.length);
      fresh[0] = head;
      for (let j = 0; j < payload.length; j++) fresh[1 + j] = payload[j]!;
      scopes.set(flatCopy(scope), fresh);
      records++;
      return;
    }
    const at = find(list, column);
    if (at >= 0 && list[at] === head) {
      for (let j = 0; j < payload.length; j++) list[at + 1 + j] = payload[j]!;
      return;
    }
    // A new column for this scope, or a window whose slot count changed: rebuild the array.
    const oldLen = at < 0 ? 0 : 1 + (list[at]! % COLUMN);
    const next = exact(list.length - oldLen + 1 + payload.length);
    let w = 0;
    for (let i = 0; i < list.length; i++) if (at < 0 || i < at || i >= at + oldLen) next[w++] = list[i]!;
    next[w++] = head;
    for (let j = 0; j < payload.length; j++) next[w++] = payload[j]!;
    scopes.set(scope, next);
    if (at < 0) records++;
  };

  const windowPayload = (s: WindowState): number[] => {
    const payload = exact(2 + s.slots.length);
    payload[0] = s.slotMs;
    payload[1] = s.start;
    for (let j = 0; j < s.slots.length; j++) payload[2 + j] = s.slots[j]!;
    return payload;
  };

  /** Whether the record at `at` is back to neutral at `now`, the same tests as gcra.ts and window.ts. */
  const neutral = (list: readonly number[], at: number, now: number): boolean => {
    const head = list[at]!;
    const len = head % COLUMN;
    if (isWindow[(head - len) / COLUMN]) {
      const slotMs = list[at + 1]!;
      const start = list[at + 2]!;
      const oldest = Math.floor(now / slotMs) - WINDOW_SLOTS + 1;
      for (let j = len - 3; j >= 0 && start + j >= oldest; j--) if (list[at + 3 + j] !== 0) return false;
      return true;
    }
    return list[at + 1]! <= now;
  };

  return {
    bucket(key) {
      const at = locate(bucketColumns, key);
      return at < 0 ? undefined : { tat: located[at + 1]! };
    },
    window(key) {
      const at = locate(windowColumns, key);
      if (at < 0) return undefined;
      const list = located;
      const len = list[at]! % COLUMN;
      return { slotMs: list[at + 1]!, slots: list.slice(at + 3, at + 1 + len), start: list[at + 2]! };
    },
    setBucket(key, state) {
      put(bucketColumns, key, [state.tat]);
    },
    setWindow(key, state) {
      put(windowColumns, key, windowPayload(state));
    },
    evict(now) {
      let dropped = 0;
      for (const [scope, list] of scopes) {
        // Compact in place, live records down over neutral ones, and cut the tail: no allocation, so a
        // pass over a million entities stays short (the array keeps its capacity until rebuilt).
        let w = 0;
        for (let i = 0; i < list.length; ) {
          const span = 1 + (list[i]! % COLUMN);
          if (neutral(list, i, now)) dropped++;
          else {
            for (let j = 0; j < span && w !== i; j++) list[w + j] = list[i + j]!;
            w += span;
          }
          i += span;
        }
        if (w === 0) scopes.delete(scope);
        else if (w < list.length) list.length = w;
      }
      records -= dropped;
      return dropped;
    },
    size: () => records,
  };
}
