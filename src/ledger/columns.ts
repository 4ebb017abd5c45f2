import type { StoredRow } from './types.js';

// Indexed columns and the body field each copies.
const COPIES = [
  ['kind', 'kind'],
  ['at', 'at'],
  ['msg_id', 'msgId'],
  ['causation_id', 'causationId'],
  ['correlation_id', 'correlationId'],
  ['subject', 'subject'],
  ['agent', 'agent'],
  ['partition', 'partition'],
  ['seq', 'seq'],
] as const;
const OPTIONAL = new Set(['msgId', 'causationId', 'correlationId', 'subject', 'agent']);
const BODY_KEYS = new Set(['kind', 'at', 'partition', 'seq', 'data', ...OPTIONAL]);

export type ColumnProblem = {
  readonly problem: 'malformed-row' | 'column-mismatch';
  readonly detail: string;
  readonly values?: { readonly expected: string; readonly actual: string };
};

/** The body must parse to an entry body, and every indexed column must equal the field it copies. */
export function checkColumns(row: StoredRow): ColumnProblem | undefined {
  let body: unknown;
  try {
    body = JSON.parse(row.body);
  } catch {
    return { problem: 'malformed-row', detail: 'the body is not valid JSON' };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { problem: 'malformed-row', detail: 'the body is not a JSON object' };
  }
  const b = body as Record<string, unknown>;
  for (const key in b) {
    if (!BODY_KEYS.has(key))
      return { problem: 'malformed-row', detail: `the body has the unknown field ${key}` };
    const want = key === 'data' ? 'object' : key === 'kind' || OPTIONAL.has(key) ? 'string' : 'number';
    if (typeof b[key] !== want) {
      return { problem: 'malformed-row', detail: `the body field ${key} has the wrong type` };
    }
  }
  if (b.kind === undefined || b.at === undefined || b.partition === undefined || b.seq === undefined) {
    return { problem: 'malformed-row', detail: 'the body lacks kind, at, partition or seq' };
  }
  if (b.data === undefined || b.data === null || Array.isArray(b.data)) {
    return { problem: 'malformed-row', detail: 'the body has no data object' };
  }
  for (const [column, field] of COPIES) {
    const expected = b[field] ?? null;
    const actual = row[column];
    if (expected !== actual) {
      return {
        problem: 'column-mismatch',
        detail: `the column ${column} differs from the hashed body`,
        values: { expected: String(expected), actual: String(actual) },
      };
    }
  }
  return undefined;
}
