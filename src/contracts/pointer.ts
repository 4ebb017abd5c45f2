import { escapePointer } from '../envelope/index.js';
import { contractError } from './errors.js';

/** RFC 6901 JSON pointer of a path: `['a/b', 0]` → `/a~1b/0`; the empty path is `""` (the whole value). */
export function pointerOf(path: readonly (string | number)[]): string {
  let out = '';
  for (const token of path) out += `/${escapePointer(String(token))}`;
  return out;
}

// A pointer is empty or a sequence of `/token`, where `~` only appears as `~0` or `~1`.
const POINTER = /^(\/([^~/]|~[01])*)*$/;

export function isJsonPointer(text: string): boolean {
  return POINTER.test(text);
}

/**
 * The tokens of an RFC 6901 pointer: `/a~1b/0` → `['a/b', '0']`. Throws MW_CONTRACT_BAD_POINTER on
 * text that is not a pointer: callers holding untrusted text check `isJsonPointer` first.
 */
export function parsePointer(pointer: string): string[] {
  if (!POINTER.test(pointer)) {
    const reason = pointer.startsWith('/') ? '"~" must be followed by 0 or 1' : 'it must start with "/"';
    throw contractError('MW_CONTRACT_BAD_POINTER', { pointer, reason });
  }
  if (pointer === '') return [];
  // Unescape ~1 before ~0, as RFC 6901 section 4 requires ("~01" is "~1", not "/").
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}
