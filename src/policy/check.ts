import { pointerOf } from '../contracts/index.js';
import { type PolicyCode, type PolicyParams, policyMessage } from './errors.js';
import type { PolicyIssue } from './issues.js';
import type { ParsedMesh, Path } from './source.js';
import { parseDuration } from './units.js';

/** Collects the issues of one compilation, each placed at a path of the mesh document. */
export type Checker = {
  readonly mesh: ParsedMesh;
  readonly issues: PolicyIssue[];
  readonly warnings: PolicyIssue[];
  /** A mistake at `path` (at the key that holds it with `at: 'key'`). */
  report(code: PolicyCode, params: PolicyParams, path: Path, at?: 'key' | 'value'): void;
  warn(code: PolicyCode, params: PolicyParams, path: Path, at?: 'key' | 'value'): void;
  /** A mistake at the `offset`-th character of the text value at `path` (inside a CEL predicate). */
  reportIn(
    code: PolicyCode,
    params: PolicyParams,
    path: Path,
    offset: number | undefined,
    warn?: boolean,
  ): void;
};

export function createChecker(mesh: ParsedMesh): Checker {
  const issues: PolicyIssue[] = [];
  const warnings: PolicyIssue[] = [];
  const make = (
    code: PolicyCode,
    params: PolicyParams,
    path: Path,
    at: 'key' | 'value' | number,
  ): PolicyIssue => {
    const { line, col } = typeof at === 'number' ? mesh.locateIn(path, at) : mesh.locate(path, at);
    return {
      code,
      file: mesh.file,
      line,
      col,
      pointer: pointerOf(path),
      message: policyMessage(code, params),
    };
  };
  return {
    mesh,
    issues,
    warnings,
    report: (code, params, path, at = 'value') => void issues.push(make(code, params, path, at)),
    warn: (code, params, path, at = 'value') => void warnings.push(make(code, params, path, at)),
    reportIn: (code, params, path, offset, warn = false) =>
      void (warn ? warnings : issues).push(make(code, params, path, offset ?? 'value')),
  };
}

/** `agents.sentiment.consumes[0]`: a path the way a person reads it. */
export function labelOf(path: Path): string {
  let out = '';
  for (const token of path) {
    if (typeof token === 'number') out += `[${token}]`;
    else out += out === '' ? token : `.${token}`;
  }
  return out === '' ? 'the mesh file' : out;
}

/** Pointer tokens as a path: a token that indexes a list in `value` becomes a number. */
export function pathIn(value: unknown, tokens: readonly string[]): Path {
  const path: (string | number)[] = [];
  let at = value;
  for (const token of tokens) {
    const index = Array.isArray(at) && /^(0|[1-9]\d*)$/.test(token) ? Number(token) : undefined;
    path.push(index ?? token);
    at = index !== undefined ? (at as unknown[])[index] : isObj(at) ? at[token] : undefined;
  }
  return path;
}

// Defensive readers: the semantic checks run even when the shape check failed, so that every
// mistake is reported at once; a value of the wrong shape was already reported and is skipped.

export type Obj = Readonly<Record<string, unknown>>;

export function isObj(value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function entriesOf(value: unknown): [string, unknown][] {
  return isObj(value) ? Object.entries(value) : [];
}

export function listOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The strings of a list, with their index in it. */
export function stringsOf(value: unknown): [string, number][] {
  const out: [string, number][] = [];
  listOf(value).forEach((v, i) => {
    if (typeof v === 'string') out.push([v, i]);
  });
  return out;
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Reads a duration; a missing optional one takes `fallback`. A mistake is reported and reads as 0. */
export function duration(check: Checker, value: unknown, path: Path, fallback?: string): number {
  if (value === undefined) return fallback === undefined ? 0 : parseDuration(fallback)!;
  const ms = parseDuration(value);
  if (ms === undefined)
    check.report('MW_POLICY_BAD_DURATION', { where: labelOf(path), value: shown(value) }, path);
  return ms ?? 0;
}

export function num(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

/** A value quoted for a sentence: `"1 hour"`, `3600`. */
export function shown(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
