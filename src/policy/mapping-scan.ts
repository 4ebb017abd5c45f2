/**
 * The static side of a mapping: finding the `{{ expr }}` sites in a template string, and reading a
 * parsed JSONata expression for names it may not use (an unknown root field, an unknown `$` name,
 * a banned function).
 */
import { closest } from '../envelope/index.js';
import { BANNED_FUNCTIONS } from './mapping-eval.js';
import { boundNames, otherSide, unknownVariable } from './mapping-names.js';
import { regexProblem } from './mapping-regex.js';

/** One `{{ expr }}` in a string: where it starts and ends, and where its expression is. */
export type Site = {
  readonly start: number;
  /** Just past the closing `}}`. */
  readonly end: number;
  readonly expr: string;
  /** Offset of `expr` in the string. */
  readonly exprAt: number;
};

export type ScanResult =
  | { readonly ok: true; readonly sites: readonly Site[] }
  | { readonly ok: false; readonly problem: string; readonly offset: number };

/**
 * The sites of a string, in order. A site ends at the first `}}` outside JSONata strings, comments
 * and braces, so an object constructor like `{{ {"a": {"b": 1}} }}` is one site.
 */
export function scanSites(text: string): ScanResult {
  const sites: Site[] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf('{{', from);
    if (start < 0) return { ok: true, sites };
    const exprAt = start + 2;
    const close = closingOf(text, exprAt);
    if (close === undefined) return { ok: false, problem: 'this {{ has no closing }}', offset: start };
    const expr = text.slice(exprAt, close);
    if (expr.trim() === '') return { ok: false, problem: 'this {{ }} holds no expression', offset: start };
    sites.push({ start, end: close + 2, expr, exprAt });
    from = close + 2;
  }
}

/**
 * Where a string has a `}}` outside every site, or undefined. It is sent as text, as written; most
 * often a site that lost a brace (`{ json.label }}`), but JSON text in a prompt can end so too.
 */
export function strayClosing(text: string): number | undefined {
  const scanned = scanSites(text);
  // A string whose {{ is not closed has its own problem.
  if (!scanned.ok) return undefined;
  let from = 0;
  for (const site of [...scanned.sites, { start: text.length, end: text.length }]) {
    const at = text.slice(from, site.start).indexOf('}}');
    if (at >= 0) return from + at;
    from = site.end;
  }
  return undefined;
}

function closingOf(text: string, from: number): number | undefined {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipQuoted(text, i, c);
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) return undefined;
      i = end + 1;
    } else if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0 && text[i + 1] === '}') return i;
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}

function skipQuoted(text: string, at: number, quote: string): number {
  for (let i = at + 1; i < text.length; i++) {
    if (text[i] === '\\' && quote !== '`') i++;
    else if (text[i] === quote) return i;
  }
  return text.length;
}

/** A problem in an expression, at an offset inside the expression. */
export type ExprProblem = { readonly problem: string; readonly offset: number };

type Node = { readonly type?: string; readonly value?: unknown; readonly position?: number } & Readonly<
  Record<string, unknown>
>;

/** Keys whose expressions are evaluated against something other than the context (a step, a lambda's input). */
const RELATIVE_KEYS = new Set([
  'predicate',
  'stages',
  'group',
  'body',
  'terms',
  'update',
  'delete',
  'pattern',
]);

/**
 * Banned functions and unknown `$` names anywhere, and root field names that are not in `names`:
 * a path evaluated against the context whose first step is a field name. Names inside filters,
 * later steps and lambdas are relative to something else and are not checked.
 */
export function exprProblems(ast: unknown, names: readonly string[]): ExprProblem[] {
  const problems: ExprProblem[] = [];
  const startOf = (node: Node, length: number) => Math.max(0, (node.position ?? length) - length);
  const bound = boundNames(ast);
  // A `$name` the expression reads or calls: refused when banned, reported when no one knows it.
  const variable = (n: Node): void => {
    if (n.type !== 'variable' || typeof n.value !== 'string') return;
    const offset = startOf(n, n.value.length + 1);
    if (BANNED_FUNCTIONS.includes(n.value)) {
      const problem = `$${n.value} is not allowed: a mapping must give the same result every time, so it may not read the clock or chance or evaluate text`;
      problems.push({ problem, offset });
      return;
    }
    const problem = unknownVariable(n.value, bound, names, BANNED_FUNCTIONS);
    if (problem !== undefined) problems.push({ problem, offset });
  };
  const visit = (node: unknown, root: boolean): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, root);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const n = node as Node;
    variable(n);
    if (n.type === 'regex' && n.value instanceof RegExp) {
      const problem = regexProblem(n.value);
      if (problem !== undefined) problems.push({ problem, offset: startOf(n, n.value.source.length + 2) });
    }
    if (n.type === 'path' && Array.isArray(n.steps)) {
      const [first, ...rest] = n.steps as Node[];
      if (first !== undefined) variable(first);
      if (root && first?.type === 'name' && typeof first.value === 'string' && !names.includes(first.value))
        problems.push({
          problem: unknownName(first.value, names),
          offset: startOf(first, first.value.length),
        });
      if (first !== undefined) visitChildren(first, root && first.type !== 'name');
      visit(rest, false);
      return;
    }
    visitChildren(n, root);
  };
  const visitChildren = (n: Node, root: boolean): void => {
    for (const [key, child] of Object.entries(n)) {
      if (child !== null && typeof child === 'object') visit(child, root && !RELATIVE_KEYS.has(key));
    }
  };
  visit(ast, true);
  return problems;
}

function unknownName(name: string, names: readonly string[]): string {
  const side = otherSide(name, names);
  if (side !== undefined) return `unknown field ${name}: ${side}`;
  const near = closest(name, names);
  const hint = near === undefined ? `; the fields are ${names.join(', ')}` : `; did you mean ${near}?`;
  return `unknown field ${name}${hint}`;
}
