import { type Columns, columnOf, createColumns, flatCopy, separator } from './packed-columns.js';
import { COLUMN, evictNeutral, find, firstRecord, windowPayload, withRecord } from './packed-records.js';
import type { BucketState, WindowState } from './types.js';

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
 * columns apart, so one key may hold both, as with separate maps. The numbering of columns is in
 * packed-columns.ts, the records of one scope's array (find, rebuild, evict) in packed-records.ts.
 */
export type PackedTable = {
  bucket(key: string): BucketState | undefined;
  window(key: string): WindowState | undefined;
  setBucket(key: string, state: BucketState): void;
  setWindow(key: string, state: WindowState): void;
  /**
   * Drops full buckets and windows with nothing live at `now`; returns how many records went. In
   * steps of `every` scopes (packed-records.ts, evictNeutral).
   */
  evict(now: number, every: number): Generator<void, number, undefined>;
  /** Live records (keys). */
  size(): number;
  /** Every record, as the key it was set under and its state. */
  records(): IterableIterator<PackedRecord>;
};

export type PackedRecord =
  | { readonly kind: 'bucket'; readonly key: string; readonly state: BucketState }
  | { readonly kind: 'window'; readonly key: string; readonly state: WindowState };

export function createPackedTable(): PackedTable {
  const scopes = new Map<string, number[]>();
  const columns = createColumns();
  let records = 0;

  /** Where `locate` found its record: the scope's array (the index is what it returns). */
  let located: number[] = [];
  /** The index of the head of `key`'s record in `kind`, its array left in `located`; or -1. */
  const locate = (kind: Columns, key: string): number => {
    const sep = separator(key);
    const column = columnOf(kind, key, sep, false);
    if (column < 0) return -1;
    const list = scopes.get(sep < 0 ? key : key.slice(sep + 1));
    if (list === undefined) return -1;
    located = list;
    return find(list, column);
  };

  /** Writes a record (head plus `payload` numbers) for `key`, replacing its previous one. */
  const put = (kind: Columns, key: string, payload: readonly number[]): void => {
    const sep = separator(key);
    const column = columnOf(kind, key, sep, true);
    // windowAdd keeps WINDOW_SLOTS slots; only a corrupted state could reach this.
    if (payload.length >= COLUMN) throw new RangeError(`state ${key} has ${payload.length} numbers`);
    const head = column * COLUMN + payload.length;
    const scope = sep < 0 ? key : key.slice(sep + 1);
    const list = scopes.get(scope);
    if (list === undefined) {
      scopes.set(flatCopy(scope), firstRecord(head, payload));
      records++;
      return;
    }
    const at = find(list, column);
    if (at >= 0 && list[at] === head) {
      for (let j = 0; j < payload.length; j++) list[at + 1 + j] = payload[j]!;
      return;
    }
    scopes.set(scope, withRecord(list, at, head, payload));
    if (at < 0) records++;
  };

  return {
    bucket(key) {
      const at = locate(columns.bucket, key);
      return at < 0 ? undefined : { tat: located[at + 1]! };
    },
    window(key) {
      const at = locate(columns.window, key);
      if (at < 0) return undefined;
      const list = located;
      const len = list[at]! % COLUMN;
      return { slotMs: list[at + 1]!, slots: list.slice(at + 3, at + 1 + len), start: list[at + 2]! };
    },
    setBucket(key, state) {
      put(columns.bucket, key, [state.tat]);
    },
    setWindow(key, state) {
      put(columns.window, key, windowPayload(state));
    },
    *evict(now, every) {
      const steps = evictNeutral(scopes, columns.isWindow, now, every);
      let dropped = 0;
      for (;;) {
        // Counted as they go: `size()` is right during a pass too.
        const step = steps.next();
        records -= step.value;
        dropped += step.value;
        if (step.done) return dropped;
        yield;
      }
    },
    size: () => records,
    *records() {
      // Column numbers back to their `<kind>|<rule>` ('' for a key that is a scope of its own).
      const names: string[] = [];
      for (const [name, n] of columns.bucket.map) names[n] = name;
      for (const [name, n] of columns.window.map) names[n] = name;
      for (const [scope, list] of scopes) {
        for (let i = 0; i < list.length; ) {
          const len = list[i]! % COLUMN;
          const column = (list[i]! - len) / COLUMN;
          const name = names[column]!;
          const key = name === '' ? scope : `${name}|${scope}`;
          if (columns.isWindow[column]) {
            const state = {
              slotMs: list[i + 1]!,
              slots: list.slice(i + 3, i + 1 + len),
              start: list[i + 2]!,
            };
            yield { kind: 'window', key, state };
          } else yield { kind: 'bucket', key, state: { tat: list[i + 1]! } };
          i += 1 + len;
        }
      }
    },
  };
}
