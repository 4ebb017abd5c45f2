import { escapePointer } from './depth.js';

/** A number no JSON text can hold, and where it is. */
export type NonFinite = { readonly pointer: string; readonly value: number };

/**
 * The first number (depth first) that JSON cannot hold, Infinity or NaN, and its JSON pointer; or
 * undefined. JSON.parse gives Infinity for a number out of range (`1e400`), and JSON.stringify
 * writes such numbers as `null`, so a value holding one is recorded as one thing and handed on as
 * another, and the ledger's canonical form refuses it. Walks without recursion, so no nesting runs
 * it out of stack. Pure.
 */
export function nonFiniteAt(value: unknown): NonFinite | undefined {
  const found = firstAt(value, (v) => typeof v === 'number' && !Number.isFinite(v));
  return found === undefined ? undefined : { pointer: found.pointer, value: found.value as number };
}

/**
 * The JSON pointer of the first text (depth first), member name or value, that is not well-formed
 * UTF-16 (a lone surrogate, which JSON's `\ud800` escape can spell and no UTF-8 text can hold); or
 * undefined. Walks without recursion. Pure.
 */
export function brokenTextAt(value: unknown): string | undefined {
  return firstAt(
    value,
    (v) => typeof v === 'string' && !v.isWellFormed(),
    (key) => !key.isWellFormed(),
  )?.pointer;
}

/**
 * The first value (depth first) that is `bad`, or under a member name that is `badKey`, with its
 * pointer. Walks without recursion, so no nesting runs it out of stack.
 */
function firstAt(
  value: unknown,
  bad: (v: unknown) => boolean,
  badKey: (key: string) => boolean = () => false,
): { readonly pointer: string; readonly value: unknown } | undefined {
  if (bad(value)) return { pointer: '', value };
  if (value === null || typeof value !== 'object') return undefined;
  type Frame = {
    readonly node: object;
    readonly keys: readonly string[] | undefined;
    next: number;
    readonly at: string;
  };
  const open = (node: object, at: string): Frame => ({
    node,
    keys: Array.isArray(node) ? undefined : Object.keys(node),
    next: 0,
    at,
  });
  const stack: Frame[] = [open(value, '')];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const size = top.keys === undefined ? (top.node as unknown[]).length : top.keys.length;
    if (top.next >= size) {
      stack.pop();
      continue;
    }
    const key = top.keys === undefined ? String(top.next) : top.keys[top.next]!;
    top.next++;
    const member = (top.node as Record<string, unknown>)[key];
    const at = `${top.at}/${escapePointer(key)}`;
    if (bad(member) || (top.keys !== undefined && badKey(key))) return { pointer: at, value: member };
    if (member !== null && typeof member === 'object') stack.push(open(member, at));
  }
  return undefined;
}

/**
 * Whether a value holds Infinity or NaN anywhere: the quick test for hot paths, which allocates no
 * pointer on the way (nonFiniteAt says where). Walks without recursion.
 */
export function hasNonFinite(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'number') {
      if (!Number.isFinite(node)) return true;
    } else if (node !== null && typeof node === 'object') {
      if (Array.isArray(node)) for (let i = 0; i < node.length; i++) push(stack, node[i]);
      else for (const key in node) push(stack, (node as Record<string, unknown>)[key]);
    }
  }
  return false;
}

/** Only numbers and containers need a look. */
function push(stack: unknown[], v: unknown): void {
  if (typeof v === 'number' ? !Number.isFinite(v) : v !== null && typeof v === 'object') stack.push(v);
}

/** A plain sentence for such a number: `the number at /score is Infinity, which JSON cannot hold`. */
export function nonFiniteText(found: NonFinite): string {
  return `the number at ${found.pointer || '/'} is ${found.value}, which JSON cannot hold`;
}
