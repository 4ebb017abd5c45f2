import {
  type CST,
  type Document,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  Parser,
  parseDocument,
} from 'yaml';
import { errorText, MAX_JSON_DEPTH, tooDeepAt } from '../envelope/index.js';
import { policyMessage } from './errors.js';
import type { PolicyIssue } from './issues.js';

export type Path = readonly (string | number)[];
export type Position = { readonly line: number; readonly col: number };

/** A parsed text document that knows where each of its values is written. */
export type Located = {
  /** The document as plain JSON values (aliases resolved). */
  readonly value: unknown;
  /** Line and column of the value at `path`, or of the key that holds it; the deepest existing part otherwise. */
  readonly locate: (path: Path, at?: 'key' | 'value') => Position;
  /**
   * Line and column of the character at `offset` inside the text value at `path` (a CEL predicate),
   * across quotes, escapes and block scalars; the value's start when it cannot tell.
   */
  readonly locateIn: (path: Path, offset: number) => Position;
};

/** A mesh file, parsed: the document, where things are, and its YAML syntax errors. */
export type ParsedMesh = Located & {
  /** The file as the caller named it: used in issues. */
  readonly file: string;
  /** Its absolute path: modules and contracts resolve against its directory. */
  readonly path: string;
  readonly issues: readonly PolicyIssue[];
  readonly warnings: readonly PolicyIssue[];
};

/** Parses mesh.yaml text. Pure: `file` and the absolute `path` are only names here. */
export function parseMesh(opts: { file: string; path: string; text: string }): ParsedMesh {
  const lineCounter = new LineCounter();
  // logLevel error: yaml would print its own warnings on the process (a map used as a key, as an
  // unquoted `{{ x }}` is); the policy reports what matters as its issues and prints nothing.
  const doc = parseDocument(opts.text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    logLevel: 'error',
  });
  const at = (offset: number, code: 'MW_POLICY_PARSE' | 'MW_POLICY_YAML_WARNING', detail: string) => {
    const { line, col } = lineCounter.linePos(offset);
    return { code, file: opts.file, line, col, pointer: '', message: policyMessage(code, { detail }) };
  };
  const tooDeep = (pos: Position, pointer = ''): PolicyIssue => ({
    code: 'MW_POLICY_TOO_DEEP',
    file: opts.file,
    ...pos,
    pointer,
    message: policyMessage('MW_POLICY_TOO_DEEP', { max: MAX_JSON_DEPTH }),
  });
  // The parser runs out of stack on thousands of nested levels: said once, where the nesting first
  // passes the limit (found in the concrete syntax tree, which is built without recursion), as a
  // file just past the limit is; where the parser gave up when that cannot be found.
  const tooDeepSomewhere = (fallback: number) =>
    tooDeep(lineCounter.linePos(tooDeepInYaml(opts.text, MAX_JSON_DEPTH) ?? fallback));
  const overflow = doc.errors.find((e) => isStackOverflow(e.message));
  const issues = overflow
    ? [tooDeepSomewhere(overflow.pos[0])]
    : doc.errors.map((e) => at(e.pos[0], 'MW_POLICY_PARSE', e.message));
  const warnings = doc.warnings.map((e) => at(e.pos[0], 'MW_POLICY_YAML_WARNING', e.message));
  let value: unknown = null;
  if (issues.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      issues.push(
        isStackOverflow(errorText(err)) ? tooDeepSomewhere(0) : at(0, 'MW_POLICY_PARSE', errorText(err)),
      );
    }
  }
  // Deeper than any mesh file needs: refused before anything else walks it (envelope/depth.ts).
  const deep = issues.length === 0 ? tooDeepAt(value, MAX_JSON_DEPTH) : undefined;
  if (deep !== undefined) {
    const path = deep
      .split('/')
      .slice(1)
      .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    issues.push(tooDeep(locator(doc, lineCounter)(path), deep));
    value = null;
  }
  const locate = locator(doc, lineCounter);
  const locateIn = (path: Path, offset: number): Position => {
    const node = doc.getIn(path, true);
    if (!isScalar(node) || typeof node.value !== 'string' || !node.range) return locate(path);
    const at = sourceOffset(opts.text, node.type, node.range[0], node.range[1], offset);
    return at === undefined ? locate(path) : lineCounter.linePos(at);
  };
  return { file: opts.file, path: opts.path, value, issues, warnings, locate, locateIn };
}

/**
 * The offset of the first collection nested past `max` levels (the document's value is level 1, as
 * in `tooDeepAt`), read from the first document's concrete syntax tree with a stack of our own; or
 * undefined.
 */
function tooDeepInYaml(text: string, max: number): number | undefined {
  let first: number | undefined;
  for (const token of new Parser().parse(text)) {
    if (token.type !== 'document') continue;
    const stack: [CST.Token | undefined, number][] = [[token.value, 1]];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      const [node, depth] = next;
      if (node === undefined || !('items' in node)) continue;
      if (node.type !== 'block-map' && node.type !== 'block-seq' && node.type !== 'flow-collection') continue;
      if (depth > max) {
        if (first === undefined || node.offset < first) first = node.offset;
        continue;
      }
      for (const item of node.items) {
        if ('key' in item && item.key) stack.push([item.key, depth + 1]);
        if (item.value) stack.push([item.value, depth + 1]);
      }
    }
    return first;
  }
  return undefined;
}

function isStackOverflow(message: string): boolean {
  return /maximum call stack/i.test(message);
}

/**
 * Locates paths in JSON text (a contract file). JSON is YAML 1.2, so the same parser gives the
 * positions; the value itself comes from JSON.parse, which is strict where YAML is lenient.
 */
export function locateInJson(text: string): Located['locate'] {
  const lineCounter = new LineCounter();
  return locator(parseDocument(text, { lineCounter, prettyErrors: false }), lineCounter);
}

/**
 * The offset of the first bracket in JSON text that opens past `max` levels at once (the outer value
 * is level 1), or undefined. Reads the text as characters, strings skipped, so any nesting is found
 * without parsing it (YAML's parser, which locates everything else, recurses).
 */
export function tooDeepOffset(text: string, max: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (++depth > max) return i;
    } else if (c === '}' || c === ']') depth--;
  }
  return undefined;
}

/**
 * A file's text without its leading UTF-8 byte order mark, which some editors write: JSON.parse
 * refuses it, and it is not part of the document (the JSON Lines input drops it too).
 */
export function withoutBom(text: string): string {
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/** 1-based line and column of a character offset in a text. */
export function positionOf(text: string, offset: number): Position {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lastBreak = before.lastIndexOf('\n');
  return { line: before.split('\n').length, col: offset - lastBreak };
}

function locator(doc: Document, lineCounter: LineCounter): Located['locate'] {
  return (path, at = 'value') => {
    let node: unknown = doc.contents;
    let offset = startOf(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      if (isAlias(node)) node = node.resolve(doc);
      const token = path[i]!;
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => keyText(p.key) === String(token));
        if (pair === undefined) break;
        const keyStart = startOf(pair.key);
        const valueStart = isEmpty(pair.value) ? undefined : startOf(pair.value);
        offset = (at === 'key' && i === path.length - 1 ? keyStart : (valueStart ?? keyStart)) ?? offset;
        next = pair.value;
      } else if (isSeq(node)) {
        next = node.items[Number(token)];
        if (next === undefined) break;
        offset = startOf(next) ?? offset;
      } else {
        break;
      }
      node = next;
    }
    const { line, col } = lineCounter.linePos(offset);
    return { line, col };
  };
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function startOf(node: unknown): number | undefined {
  return isNode(node) ? node.range?.[0] : undefined;
}

/** `key:` with nothing after it: its empty value has a zero-width range, so point at the key instead. */
function isEmpty(node: unknown): boolean {
  return (
    node === null ||
    node === undefined ||
    (isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1])
  );
}

/**
 * Where the `offset`-th character of a scalar's value is written in the source: quotes, escapes,
 * a literal block's indentation and a folded line break (one space in the value) are accounted for.
 * Undefined for what is not worth guessing (blank lines inside a folded scalar).
 */
function sourceOffset(
  text: string,
  type: unknown,
  start: number,
  end: number,
  offset: number,
): number | undefined {
  const block = type === 'BLOCK_LITERAL' || type === 'BLOCK_FOLDED';
  const quoted = type === 'QUOTE_SINGLE' || type === 'QUOTE_DOUBLE';
  let i = quoted ? start + 1 : start;
  let indent = 0;
  if (block) {
    i = text.indexOf('\n', start) + 1;
    if (i <= 0 || i >= end) return undefined;
    indent = /^ */.exec(text.slice(i))?.[0].length ?? 0;
    i += indent;
  }
  for (let k = 0; k < offset; k++) {
    if (i >= end) return undefined;
    if (text[i] === '\n') {
      i++;
      if (block) i += Math.min(indent, /^ */.exec(text.slice(i))?.[0].length ?? 0);
      else i += /^[ \t]*/.exec(text.slice(i))?.[0].length ?? 0;
      if (text[i] === '\n' && type !== 'BLOCK_LITERAL') return undefined;
    } else if (type === 'QUOTE_SINGLE' && text.startsWith("''", i)) i += 2;
    else if (type === 'QUOTE_DOUBLE' && text[i] === '\\') i += { x: 4, u: 6, U: 10 }[text[i + 1] ?? ''] ?? 2;
    else i++;
  }
  return i;
}
