import type { WindowState } from './types.js';

export const WINDOW_SLOTS = 10;

// Most windows hold one slot with a small count (breaker counts, single credits). Sharing those arrays
// (states are immutable values) saves an allocation per window delta; the memory store keeps windows
// packed (packed.ts), not these objects.
const SHARED_MAX = 1024;
const shared: (readonly number[])[] = [];

function oneSlot(value: number): readonly number[] {
  if (!Number.isInteger(value) || value < 0 || value >= SHARED_MAX) return [value];
  let slots = shared[value];
  if (slots === undefined) {
    slots = Object.freeze([value]);
    shared[value] = slots;
  }
  return slots;
}

/**
 * Slot width for a window. The sum covers the current slot and the WINDOW_SLOTS - 1 before it, so
 * with slots of windowMs / (WINDOW_SLOTS - 1) an event counts for at least one full window and at
 * most one window plus one slot: a budget never forgets an amount early.
 */
export function slotMsFor(windowMs: number): number {
  return Math.max(1, Math.ceil(windowMs / (WINDOW_SLOTS - 1)));
}

/** The live sum at `now`. The state carries its own slot width, so the window length is not needed. */
export function windowSum(state: WindowState | undefined, now: number): number {
  if (state === undefined) return 0;
  const oldest = Math.floor(now / state.slotMs) - WINDOW_SLOTS + 1;
  const slots = state.slots;
  let sum = 0;
  // Slots newer than `now` (a clock that stepped back) still count: the conservative choice.
  for (let i = slots.length - 1; i >= 0 && state.start + i >= oldest; i--) sum += slots[i]!;
  return sum;
}

/**
 * Adds `amount` at `now` and returns the new state (states are values: deltas carry them whole).
 * Only the live slots from the oldest non-zero one to the newest are kept, so a window that saw one
 * event holds one number.
 */
export function windowAdd(
  state: WindowState | undefined,
  now: number,
  windowMs: number,
  amount: number,
): WindowState {
  const slotMs = slotMsFor(windowMs);
  const idx = Math.floor(now / slotMs);
  if (state === undefined || state.slotMs !== slotMs || state.slots.length === 0) {
    // A changed window width restarts the window, carrying the live sum over (conservative).
    const carry = state === undefined ? 0 : windowSum(state, now);
    return { slotMs, slots: oneSlot(carry + amount), start: idx };
  }
  const oldSlots = state.slots;
  const oldStart = state.start;
  const end = Math.max(idx, oldStart + oldSlots.length - 1);
  const from = end - WINDOW_SLOTS + 1;
  // An event older than the kept slots (a clock that stepped back) lands in the oldest one.
  const target = Math.max(idx, from);
  let lo = Math.max(from, Math.min(oldStart, target));
  const slots: number[] = [];
  for (let at = lo; at <= end; at++) {
    const i = at - oldStart;
    const v = (i >= 0 && i < oldSlots.length ? oldSlots[i]! : 0) + (at === target ? amount : 0);
    if (slots.length === 0 && v === 0 && at < end) {
      lo++;
      continue;
    }
    slots.push(v);
  }
  return { slotMs, slots: slots.length === 1 ? oneSlot(slots[0]!) : slots, start: lo };
}

/** A window whose slots have all expired (or hold nothing) is the same as no state at all. */
export function windowIsNeutral(state: WindowState | undefined, now: number): boolean {
  if (state === undefined) return true;
  const oldest = Math.floor(now / state.slotMs) - WINDOW_SLOTS + 1;
  const slots = state.slots;
  for (let i = slots.length - 1; i >= 0 && state.start + i >= oldest; i--) {
    if (slots[i] !== 0) return false;
  }
  return true;
}
