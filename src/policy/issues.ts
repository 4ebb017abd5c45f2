import type { Policy } from './types.js';

/** One mistake in a mesh file or one of its contract files, at a 1-based line and column. */
export type PolicyIssue = {
  readonly code: string;
  /** The file as the caller named it (a contract file is joined to the mesh file's directory). */
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** JSON pointer to the offending value inside that file's document. */
  readonly pointer: string;
  readonly message: string;
};

export type PolicyLoadResult =
  | { readonly ok: true; readonly policy: Policy; readonly warnings: readonly PolicyIssue[] }
  | {
      readonly ok: false;
      readonly issues: readonly PolicyIssue[];
      /** Warnings found on the way, when the file got as far as being checked. */
      readonly warnings?: readonly PolicyIssue[];
    };

/**
 * `file:line:col: CODE: message`: the form editors and terminals turn into links, with the code a
 * log search finds (as every other error line says its code).
 */
export function formatPolicyIssue(issue: PolicyIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: ${issue.code}: ${issue.message}`;
}

/** The mesh file's issues first, then each contract file's, each in reading order. */
export function sortIssues(issues: readonly PolicyIssue[], meshFile: string): PolicyIssue[] {
  return [...issues].sort(
    (a, b) =>
      Number(b.file === meshFile) - Number(a.file === meshFile) ||
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line ||
      a.col - b.col,
  );
}
