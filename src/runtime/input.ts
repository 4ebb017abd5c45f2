import { errorText, type JsonValue } from '../envelope/index.js';
import type { RejectedInput } from './mesh.js';

/** One line of `run --input`: a root message handed to an ingress. */
export type InputLine = {
  readonly source: string;
  readonly type: string;
  readonly subject: string;
  readonly data: JsonValue;
  readonly id?: string;
};

/**
 * Parses one JSON Lines input line. Never throws: a bad line comes back as a rejection with a
 * location (`file:line:col`), a reason code and a sentence, to be recorded in the ledger.
 */
export function parseInputLine(
  text: string,
  file: string,
  line: number,
): InputLine | RejectedInput | undefined {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    // V8 quotes the offending UTF-16 unit: half of a surrogate pair when the line starts with an
    // emoji, and a lone surrogate is something no ledger entry can hold (the line would be lost).
    const message = errorText(cause).toWellFormed();
    const col = /position (\d+)/.exec(message);
    return {
      raw: text,
      location: `${file}:${line}:${col ? Number(col[1]) + 1 : 1}`,
      reason: 'ingress.malformed_json',
      detail: `Line ${line} is not valid JSON (${message}).`,
    };
  }
  const problems: { pointer: string; message: string }[] = [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push({ pointer: '', message: 'a line must be a JSON object' });
  } else {
    const v = value as Record<string, unknown>;
    for (const key of ['source', 'type', 'subject'] as const) {
      if (typeof v[key] !== 'string' || v[key] === '')
        problems.push({ pointer: `/${key}`, message: `${key} must be a non-empty string` });
    }
    if (!('data' in v)) problems.push({ pointer: '/data', message: 'data is missing' });
    if (v.id !== undefined && typeof v.id !== 'string')
      problems.push({ pointer: '/id', message: 'id must be a string' });
    for (const key of Object.keys(v)) {
      if (!['source', 'type', 'subject', 'data', 'id'].includes(key)) {
        problems.push({ pointer: `/${key}`, message: `unknown field "${key}"` });
      }
    }
  }
  if (problems.length > 0) {
    return {
      raw: text,
      location: `${file}:${line}:1`,
      reason: 'ingress.bad_line',
      detail: `Line ${line} is not a message: ${problems.map((p) => `${p.pointer || '/'} ${p.message}`).join('; ')}.`,
      issues: problems,
    };
  }
  return value as InputLine;
}

export function isRejected(value: InputLine | RejectedInput): value is RejectedInput {
  return 'reason' in value && 'location' in value;
}
