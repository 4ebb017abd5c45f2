import { isUuid } from './id.js';
import { parseSource } from './source.js';
import type { Envelope } from './types.js';

/** One problem with an envelope's shape: a JSON pointer to the attribute and a plain sentence. */
export type ShapeIssue = {
  readonly code: 'MW_ENVELOPE_SHAPE';
  readonly pointer: string;
  readonly message: string;
};

const STRINGS_REQUIRED = ['id', 'source', 'type', 'time', 'subject', 'correlationid'] as const;
const STRINGS_OPTIONAL = [
  'datacontenttype',
  'dataschema',
  'causationid',
  'ancestry',
  'target',
  'traceparent',
  'tracestate',
  'agentversion',
  'model',
  'inputdigest',
  'policydigest',
  'signature',
] as const;
/** Every field an envelope may carry. */
export const ENVELOPE_FIELDS: readonly string[] = [
  'specversion',
  'data',
  'hop',
  ...STRINGS_REQUIRED,
  ...STRINGS_OPTIONAL,
];
const KNOWN = new Set<string>(ENVELOPE_FIELDS);
// CloudEvents: extension attribute names are lower-case letters and digits, at most 20 characters.
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Message types and effect names: dotted lower-case, like `ticket.scored.v1` or `credit.issue`. The
 * one copy of the rule; policy/ uses it too (a JSON Schema `pattern` takes `TYPE_NAME.source`).
 */
export const TYPE_NAME = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$/;

export function isTypeName(value: string): boolean {
  return TYPE_NAME.test(value);
}

/**
 * Checks that a parsed JSON value is a well-formed envelope. Pure and allocation-light: this runs on
 * every message. Returns the typed envelope, or every issue found.
 */
export function readEnvelope(
  candidate: unknown,
):
  | { readonly ok: true; readonly envelope: Envelope }
  | { readonly ok: false; readonly issues: readonly ShapeIssue[] } {
  if (candidate === null || typeof candidate !== 'object' || Array.isArray(candidate)) {
    return { ok: false, issues: [issue('', 'the envelope is not a JSON object')] };
  }
  const c = candidate as Record<string, unknown>;
  const issues: ShapeIssue[] = [];
  if (c.specversion !== '1.0') issues.push(issue('/specversion', 'specversion must be "1.0"'));
  for (const key of STRINGS_REQUIRED) {
    const v = c[key];
    if (typeof v !== 'string' || v === '') issues.push(issue(`/${key}`, `${key} must be a non-empty string`));
  }
  for (const key of STRINGS_OPTIONAL) {
    const v = c[key];
    if (v !== undefined && typeof v !== 'string') issues.push(issue(`/${key}`, `${key} must be a string`));
  }
  if (!('data' in c)) issues.push(issue('/data', 'data is missing'));
  if (typeof c.hop !== 'number' || !Number.isInteger(c.hop) || c.hop < 0) {
    issues.push(issue('/hop', 'hop must be a non-negative integer'));
  }
  if (typeof c.id === 'string' && c.id !== '' && !isUuid(c.id))
    issues.push(issue('/id', 'id must be a UUID'));
  if (typeof c.source === 'string' && c.source !== '' && parseSource(c.source) === undefined) {
    issues.push(issue('/source', 'source must look like mesh://<mesh>/<agent>@<version>'));
  }
  if (typeof c.type === 'string' && c.type !== '' && !isTypeName(c.type)) {
    issues.push(issue('/type', 'type must be dotted lower-case, like ticket.scored.v1'));
  }
  if (typeof c.time === 'string' && c.time !== '' && !RFC3339.test(c.time)) {
    issues.push(issue('/time', 'time must be an RFC 3339 timestamp'));
  }
  for (const key in c) {
    if (!KNOWN.has(key) && !EXTENSION_NAME.test(key)) {
      issues.push(
        issue(`/${key}`, `attribute "${key}" is not a valid CloudEvents name (lower-case, ≤ 20 chars)`),
      );
    }
  }
  return issues.length === 0 ? { ok: true, envelope: c as Envelope } : { ok: false, issues };
}

function issue(pointer: string, message: string): ShapeIssue {
  return { code: 'MW_ENVELOPE_SHAPE', pointer, message };
}
