import { resolve } from 'node:path';

/**
 * `effects.<name>.mcp`: the MCP server that executes an effect, either an http(s) URL (Streamable
 * HTTP) or a command line the warden spawns (stdio). A command line is split like a shell would
 * without running one: words separated by blanks, `'…'` taken literally, `"…"` with `\"` and `\\`.
 * Paths written `./x` or `../x` resolve against the mesh file's directory, as `module:` does, so
 * the mesh runs the same from any working directory.
 */
export type McpServerResult =
  | { ok: true; server: string; url?: string; command?: readonly string[] }
  | { ok: false; reason: string };

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** The server as the runtime connects to it: a URL as written, a command line with paths resolved. */
export function compileMcpServer(text: string, dir: string): McpServerResult {
  if (SCHEME.test(text)) {
    if (!URL.canParse(text)) return { ok: false, reason: 'it is not a valid URL' };
    const { protocol } = new URL(text);
    if (protocol !== 'http:' && protocol !== 'https:')
      return { ok: false, reason: `an MCP server URL must be http or https, not ${protocol.slice(0, -1)}` };
    return { ok: true, server: text, url: text };
  }
  const words = splitCommandLine(text);
  if (typeof words === 'string') return { ok: false, reason: words };
  if (words.length === 0) return { ok: false, reason: 'it names no command' };
  const resolved = words.map((w) => (isRelativePath(w) ? resolve(dir, w) : w));
  return { ok: true, server: resolved.map(quoteWord).join(' '), command: resolved };
}

/** The words of a command line, or why it cannot be split (an unclosed quote). */
export function splitCommandLine(text: string): string[] | string {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'" || c === '"') {
      const end = closing(text, i);
      if (end < 0) return `its ${c} quote is never closed`;
      const inner = text.slice(i + 1, end);
      word = (word ?? '') + (c === '"' ? inner.replace(/\\(["\\])/g, '$1') : inner);
      i = end;
    } else word = (word ?? '') + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

function closing(text: string, open: number): number {
  const quote = text[open];
  for (let i = open + 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) return i;
  }
  return -1;
}

function isRelativePath(word: string): boolean {
  return word.startsWith('./') || word.startsWith('../');
}

/** A word as splitCommandLine reads it back: quoted only when it has to be. */
function quoteWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/(["\\])/g, '\\$1')}"`;
}
