/**
 * How deep JSON may nest in an envelope: 64 levels, as brackets open at once (the envelope itself is
 * level 1 and `data` level 2, so a message's data may nest 63 levels). Deeper input is refused
 * before anything else walks it: native JSON.stringify, structuredClone and most recursive code run
 * out of stack somewhere past a few thousand levels, and no message a mesh exchanges needs more
 * than a handful.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The JSON pointer of the first container (depth first) nested deeper than `max` levels, or
 * undefined. The value itself is level 1; strings and numbers add no level. It recurses at most
 * `max` calls deep whatever the input (it stops at the first container too deep), allocates nothing
 * on the way down, and costs a fraction of the JSON.stringify it guards. Pure.
 */
export function tooDeepAt(value: unknown, max: number = MAX_JSON_DEPTH): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const path = max < 1 ? [] : deepIn(value, 1, max);
  return path === undefined
    ? undefined
    : path
        .reverse()
        .map(escapePointer)
        .reduce((at, k) => `${at}/${k}`, '');
}

/** The path (innermost key first) to the first container past `max`, below `node` at `depth`. */
function deepIn(node: object, depth: number, max: number): string[] | undefined {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const found = member(node[i], depth, max, String(i));
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const key in node) {
    const found = member((node as Record<string, unknown>)[key], depth, max, key);
    if (found !== undefined) return found;
  }
  return undefined;
}

function member(value: unknown, depth: number, max: number, key: string): string[] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= max) return [key];
  const found = deepIn(value, depth + 1, max);
  found?.push(key);
  return found;
}

/** A member name as one JSON pointer reference token (RFC 6901). */
export function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}
