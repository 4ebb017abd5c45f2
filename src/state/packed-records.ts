import type { WindowState } from './types.js';
import { WINDOW_SLOTS } from './window.js';

/**
 * A scope's records in the packed table (state/packed.ts): one array of numbers, each record a head
 * (`column * COLUMN + payload length`) followed by its payload.
 */
export const COLUMN = 2 ** 24;

/** Index of the head of `column`'s record in `records`, or -1. */
export function find(records: readonly number[], column: number): number {
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

/** A new scope's array: its one record, `head` then `payload`. */
export function firstRecord(head: number, payload: readonly number[]): number[] {
  const fresh = exact(1 + payload.length);
  fresh[0] = head;
  for (let j = 0; j < payload.length; j++) fresh[1 + j] = payload[j]!;
  return fresh;
}

/**
 * A new array for a scope gaining a column, or a window whose slot count changed: `list` without the
 * record at `at` (none if -1), then `head` and `payload` last.
 */
export function withRecord(
  list: readonly number[],
  at: number,
  head: number,
  payload: readonly number[],
): number[] {
  const oldLen = at < 0 ? 0 : 1 + (list[at]! % COLUMN);
  const next = exact(list.length - oldLen + 1 + payload.length);
  let w = 0;
  for (let i = 0; i < list.length; i++) if (at < 0 || i < at || i >= at + oldLen) next[w++] = list[i]!;
  next[w++] = head;
  for (let j = 0; j < payload.length; j++) next[w++] = payload[j]!;
  return next;
}

/** A window's payload: `slotMs`, `start`, then its slots. */
export function windowPayload(s: WindowState): number[] {
  const payload = exact(2 + s.slots.length);
  payload[0] = s.slotMs;
  payload[1] = s.start;
  for (let j = 0; j < s.slots.length; j++) payload[2 + j] = s.slots[j]!;
  return payload;
}

/** Whether the record at `at` is back to neutral at `now`, the same tests as gcra.ts and window.ts. */
function neutral(list: readonly number[], at: number, now: number, isWindow: readonly boolean[]): boolean {
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
}

/**
 * Drops every record neutral at `now` (a scope left empty goes too). Pauses after every `every`
 * scopes, so that a caller can spread a pass over a million scopes across turns of the event loop:
 * the Map's iteration goes on where it stopped, scopes set meanwhile are visited too, and each
 * record's neutrality is read when its scope is visited. Each pause yields, and the end returns,
 * how many records went since the last pause. `isWindow` tells, by column number, a window's record
 * from a bucket's.
 */
export function* evictNeutral(
  scopes: Map<string, number[]>,
  isWindow: readonly boolean[],
  now: number,
  every: number,
): Generator<number, number, undefined> {
  let dropped = 0;
  let visited = 0;
  for (const [scope, list] of scopes) {
    // Compact in place, live records down over neutral ones, and cut the tail: no allocation, so a
    // pass over a million entities stays short (the array keeps its capacity until rebuilt).
    let w = 0;
    for (let i = 0; i < list.length; ) {
      const span = 1 + (list[i]! % COLUMN);
      if (neutral(list, i, now, isWindow)) dropped++;
      else {
        for (let j = 0; j < span && w !== i; j++) list[w + j] = list[i + j]!;
        w += span;
      }
      i += span;
    }
    if (w === 0) scopes.delete(scope);
    else if (w < list.length) list.length = w;
    // Paused only between scopes, each done whole: a pause before one, with its array in hand, would
    // work on an array a write meanwhile replaced (a new column), and drop the live one with it.
    if (++visited % every === 0) {
      yield dropped;
      dropped = 0;
    }
  }
  return dropped;
}
