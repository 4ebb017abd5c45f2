import { escapePointer } from './depth.js';

/**
 * The JSON pointer (well-formed) of the first member name given twice in one object of a JSON text, or
 * undefined. `JSON.parse` keeps the last value and drops the first without a word, so a message
 * with `"amount": 1, "amount": 1000` would be read one way by whoever checked it before and another
 * way here, and the ledger could not show what was sent. Names compare as parsed (`"a"` and
 * `"\u0061"` are the same name). For text `JSON.parse` has already accepted: it reads strings and
 * structure only, without recursion, in one pass. Pure.
 */
export function duplicateKeyAt(text: string): string | undefined {
  type Frame = { readonly names?: Set<string>; readonly at: string; index: number; name?: string };
  const stack: Frame[] = [];
  let i = 0;
  // Whether the next string in the current object is a member name (after `{` or `,`).
  let nameNext = false;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (nameNext && top?.names !== undefined) {
        const raw = text.slice(i + 1, end);
        const name = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        // Well-formed, as a location is shown and logged: a lone surrogate in a name becomes U+FFFD.
        if (top.names.has(name)) return `${top.at}/${escapePointer(name)}`.toWellFormed();
        top.names.add(name);
        top.name = name;
        nameNext = false;
      }
      i = end + 1;
      continue;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const top = stack[stack.length - 1];
      const at =
        top === undefined
          ? ''
          : `${top.at}/${top.names === undefined ? top.index : escapePointer(top.name ?? '')}`;
      stack.push(c === OPEN_OBJECT ? { names: new Set(), at, index: 0 } : { at, index: 0 });
      nameNext = c === OPEN_OBJECT;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop();
    } else if (c === COMMA) {
      const top = stack[stack.length - 1];
      if (top !== undefined) {
        top.index++;
        nameNext = top.names !== undefined;
      }
    }
    i++;
  }
  return undefined;
}

/** The index of the quote that closes the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i += 2;
    else if (c === QUOTE) return i;
    else i++;
  }
  return text.length;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
