import { brokenTextAt, duplicateKeyAt, errorText, type JsonValue, nonFiniteAt } from '../envelope/index.js';
import type { RawEvidence } from './evidence.js';
import type { RejectedInput } from './rejected.js';

/** One line of `run --input`: a root message handed to an ingress. */
export type InputLine = {
  readonly source: string;
  readonly type: string;
  readonly subject: string;
  readonly data: JsonValue;
  readonly id?: string;
  /** The effect request this message answers; the gate checks the claim (docs/agents.md). */
  readonly causationid?: string;
};

/**
 * The longest input line read whole: four times the envelope size limit (the envelope re-serializes
 * the line without its whitespace and escapes, so a line somewhat over the limit may still make an
 * envelope within it), and never less than 64 KiB. A longer line is refused unread.
 */
export function inputLineLimit(maxBytes: number): number {
  return Math.max(4 * maxBytes, 65_536);
}

/** A line over {@link inputLineLimit}: quarantined as evidence, never held whole. */
export function oversizedLine(
  evidence: RawEvidence,
  file: string,
  line: number,
  limit: number,
): RejectedInput {
  return {
    raw: evidence,
    location: `${file}:${line}:1`,
    reason: 'ingress.line_too_large',
    detail: `Line ${line} is ${evidence.bytes} bytes, over the input line limit of ${limit} bytes; it was not read whole.`,
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const BOM = [0xef, 0xbb, 0xbf];

/**
 * Decodes one line's bytes as UTF-8 (a byte-order mark opening the file is skipped). Bytes that
 * are not UTF-8 make the line a rejection located at the first bad byte, instead of being replaced.
 */
export function decodeLine(bytes: Uint8Array, file: string, line: number): string | RejectedInput {
  const body = line === 1 && BOM.every((b, i) => bytes[i] === b) ? bytes.subarray(3) : bytes;
  try {
    return utf8.decode(body);
  } catch {
    const bad = firstInvalidUtf8(body);
    const skipped = bytes.byteLength - body.byteLength;
    // The column counts characters (UTF-16 units), as for JSON errors; the bytes before it are valid.
    const col = utf8.decode(body.subarray(0, bad)).length + 1 + (skipped > 0 ? 1 : 0);
    const byte = (body[bad] ?? 0).toString(16).toUpperCase().padStart(2, '0');
    return {
      raw: bytes,
      location: `${file}:${line}:${col}`,
      reason: 'ingress.invalid_utf8',
      detail: `Line ${line} is not valid UTF-8: byte ${bad + skipped + 1} of the line (0x${byte}) does not begin a valid character. Input must be UTF-8 text.`,
    };
  }
}

/** The offset of the first byte that does not begin a well-formed UTF-8 sequence (RFC 3629), or the length. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const need = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 0;
    if (need === 0) return i;
    // The second byte's range excludes overlong forms, surrogates and code points over U+10FFFF.
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return i;
}

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
    // A line cut short names no position: the parser stopped at its end.
    const at = col !== null ? Number(col[1]) + 1 : /end of JSON input/.test(message) ? text.length + 1 : 1;
    return {
      raw: text,
      location: `${file}:${line}:${at}`,
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
    if (v.causationid !== undefined && (typeof v.causationid !== 'string' || v.causationid === ''))
      problems.push({ pointer: '/causationid', message: 'causationid must be a non-empty string' });
    for (const key of Object.keys(v)) {
      if (!['source', 'type', 'subject', 'data', 'id', 'causationid'].includes(key)) {
        problems.push({ pointer: `/${key}`, message: `unknown field "${key}"` });
      }
    }
    // JSON.parse gives Infinity for 1e400: the ledger would record null while agents got Infinity.
    const found = nonFiniteAt(v);
    if (found !== undefined)
      problems.push({ pointer: found.pointer, message: "a number out of JSON's range (such as 1e400)" });
    // JSON.parse keeps a repeated name's last value and drops the first without a word.
    const twice = duplicateKeyAt(text);
    if (twice !== undefined)
      problems.push({
        pointer: twice,
        message: 'a member name given twice (JSON keeps the last value and drops the first)',
      });
    // A lone surrogate (`\ud800`) is JSON's to spell and no ledger entry's to hold: said at its place.
    const broken = brokenTextAt(v);
    if (broken !== undefined)
      // A member name may be the broken text: the pointer names it with U+FFFD in its place.
      problems.push({
        pointer: broken.toWellFormed(),
        message: 'broken Unicode (a lone surrogate, such as \\ud800)',
      });
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
