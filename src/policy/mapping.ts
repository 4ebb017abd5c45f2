/**
 * Request and reply mappings of low-code and JSON agents (docs/policy.md): a JSON template whose
 * strings may hold `{{ expr }}` sites, each a JSONata expression over a context of named values.
 * Pure: compiling reads only the template, evaluating only the context; no clock, no randomness.
 * A long evaluation lets the event loop turn between sites, so it never holds the process alone.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type jsonata from 'jsonata';
import { ENVELOPE_FIELDS, escapePointer, type JsonValue } from '../envelope/index.js';
import {
  type Budget,
  MAPPING_LIMITS,
  type MappingFailure,
  type MappingLimits,
  prepare,
  run,
  setMember,
  toJson,
} from './mapping-eval.js';
import { exprProblems, scanSites } from './mapping-scan.js';

export { MAPPING_LIMITS, type MappingFailure, type MappingLimits } from './mapping-eval.js';

export type MappingIssue = { readonly pointer: string; readonly problem: string; readonly offset?: number };

export type MappingResult =
  | { readonly ok: true; readonly value: JsonValue | undefined }
  | {
      readonly ok: false;
      readonly pointer: string;
      readonly problem: string;
      /** Which bound or rule failed, for callers that tell them apart. */
      readonly kind?: MappingFailure;
    };

export type Mapping = { evaluate(context: Readonly<Record<string, unknown>>): Promise<MappingResult> };

export type MappingOptions = Partial<MappingLimits> & {
  /** A template that gives nothing at the top is `{ ok: true, value: undefined }` (a `when`), not a failure. */
  readonly optional?: boolean;
};

/** The names a request mapping reads: the fields of the envelope being delivered. */
export const REQUEST_NAMES: readonly string[] = ENVELOPE_FIELDS;

/** The names a reply mapping reads (docs/policy.md). */
export const REPLY_NAMES: readonly string[] = ['text', 'json', 'status', 'answer', 'message'];

type Site = { readonly expression: jsonata.Expression };
type Node =
  | { readonly kind: 'literal'; readonly value: JsonValue }
  | { readonly kind: 'site'; readonly pointer: string; readonly site: Site }
  | { readonly kind: 'text'; readonly pointer: string; readonly parts: readonly (string | Site)[] }
  | { readonly kind: 'array'; readonly items: readonly Node[] }
  | { readonly kind: 'object'; readonly members: readonly (readonly [string, Node])[] };

/**
 * Whether a reply's `when` holds: JSONata's `$boolean` (false, 0, "", null, nothing, an empty
 * object, and a list with no item that holds, do not).
 */
export function holds(value: JsonValue | undefined): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.some(holds);
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return typeof value === 'string' ? value.length > 0 : typeof value === 'number' ? value !== 0 : value;
}

/** Whether a value holds any `{{`: a template without one is a constant. */
export function isTemplated(template: unknown): boolean {
  if (typeof template === 'string') return template.includes('{{');
  if (Array.isArray(template)) return template.some(isTemplated);
  if (template !== null && typeof template === 'object') return Object.values(template).some(isTemplated);
  return false;
}

/** Compiles a template once: every site parsed and checked. Returns every issue found, not the first. */
export function compileMapping(
  template: unknown,
  names: readonly string[],
  opts: MappingOptions = {},
): Mapping | { readonly issues: readonly MappingIssue[] } {
  const limits: MappingLimits = {
    maxSteps: opts.maxSteps ?? MAPPING_LIMITS.maxSteps,
    maxDepth: opts.maxDepth ?? MAPPING_LIMITS.maxDepth,
    maxBytes: opts.maxBytes ?? MAPPING_LIMITS.maxBytes,
    maxSites: opts.maxSites ?? MAPPING_LIMITS.maxSites,
  };
  const issues: MappingIssue[] = [];
  const sites = { count: 0 };
  const root = compileNode(template, '', names, limits, issues, sites);
  if (sites.count > limits.maxSites)
    issues.push({
      pointer: '',
      problem: `it has ${sites.count} {{ }} sites; a template may have ${limits.maxSites} at most`,
    });
  if (issues.length > 0 || root === undefined) return { issues };
  return {
    evaluate: async (context) => {
      const ev: Evaluation = {
        budget: { steps: 0, room: { left: limits.maxBytes }, limits },
        pausedAt: 0,
        sitesSincePause: 0,
      };
      let out: Evaluated;
      try {
        out = await evaluateNode(root, context, ev);
      } catch (err) {
        // Every expected failure is a value already; this is the never-throws backstop.
        return { ok: false, pointer: '', problem: `the mapping failed: ${String(err)}`, kind: 'error' };
      }
      if (!out.ok) return out;
      if (out.value === undefined && opts.optional !== true)
        return { ok: false, pointer: '', problem: 'it gives nothing', kind: 'nothing' };
      // Each site is bounded on its own; the whole result is bounded too.
      const whole = toJson(out.value, { left: limits.maxBytes }, limits.maxBytes, limits.maxDepth);
      return whole.ok ? out : { ...whole, pointer: '' };
    },
  };
}

function compileNode(
  value: unknown,
  pointer: string,
  names: readonly string[],
  limits: MappingLimits,
  issues: MappingIssue[],
  sites: { count: number },
): Node | undefined {
  if (typeof value === 'string') return compileString(value, pointer, names, limits, issues, sites);
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileNode(v, `${pointer}/${i}`, names, limits, issues, sites));
    return items.every((n) => n !== undefined) ? { kind: 'array', items } : undefined;
  }
  if (value !== null && typeof value === 'object') {
    const members: [string, Node | undefined][] = Object.entries(value).map(([k, v]) => [
      k,
      compileNode(v, `${pointer}/${escapePointer(k)}`, names, limits, issues, sites),
    ]);
    if (members.some(([, n]) => n === undefined)) return undefined;
    return { kind: 'object', members: members as [string, Node][] };
  }
  if (
    value === undefined ||
    typeof value === 'function' ||
    typeof value === 'symbol' ||
    typeof value === 'bigint'
  ) {
    issues.push({ pointer, problem: `a template holds JSON values only, not a ${typeof value}` });
    return undefined;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    issues.push({ pointer, problem: `a template holds JSON values only, not ${value}` });
    return undefined;
  }
  return { kind: 'literal', value: value as JsonValue };
}

function compileString(
  text: string,
  pointer: string,
  names: readonly string[],
  limits: MappingLimits,
  issues: MappingIssue[],
  sites: { count: number },
): Node | undefined {
  const scanned = scanSites(text);
  if (!scanned.ok) {
    issues.push({ pointer, problem: scanned.problem, offset: scanned.offset });
    return undefined;
  }
  if (scanned.sites.length === 0) return { kind: 'literal', value: text };
  sites.count += scanned.sites.length;
  // Past the bound, a thousand more sites are not worth parsing to be refused.
  if (sites.count > limits.maxSites) return undefined;
  const parts: (string | Site)[] = [];
  let from = 0;
  let failed = false;
  for (const s of scanned.sites) {
    if (s.start > from) parts.push(text.slice(from, s.start));
    const site = compileSite(s.expr, s.exprAt, pointer, names, limits, issues);
    if (site === undefined) failed = true;
    else parts.push(site);
    from = s.end;
  }
  if (from < text.length) parts.push(text.slice(from));
  if (failed) return undefined;
  const only =
    scanned.sites.length === 1 && text.trim() === text.slice(scanned.sites[0]!.start, scanned.sites[0]!.end);
  if (only) return { kind: 'site', pointer, site: parts.find((p): p is Site => typeof p !== 'string')! };
  return { kind: 'text', pointer, parts };
}

function compileSite(
  expr: string,
  exprAt: number,
  pointer: string,
  names: readonly string[],
  limits: MappingLimits,
  issues: MappingIssue[],
): Site | undefined {
  let expression: jsonata.Expression;
  try {
    expression = prepare(expr, limits);
  } catch (err) {
    const e = err as { message?: unknown; position?: unknown; token?: unknown };
    const position = typeof e.position === 'number' ? e.position : 0;
    const token = typeof e.token === 'string' && e.token !== '(end)' ? e.token.length : 0;
    const offset = exprAt + Math.min(expr.length, Math.max(0, position - token));
    const message = String(e.message ?? err).replace(/^syntax error:\s*/i, '');
    issues.push({ pointer, problem: `JSONata syntax error: ${message}`, offset });
    return undefined;
  }
  const problems = exprProblems(expression.ast(), names);
  for (const p of problems) issues.push({ pointer, problem: p.problem, offset: exprAt + p.offset });
  return problems.length > 0 ? undefined : { expression };
}

type Evaluated =
  | { readonly ok: true; readonly value: JsonValue | undefined }
  | { readonly ok: false; readonly pointer: string; readonly problem: string; readonly kind: MappingFailure };

async function evaluateNode(
  node: Node,
  context: Readonly<Record<string, unknown>>,
  ev: Evaluation,
): Promise<Evaluated> {
  switch (node.kind) {
    case 'literal':
      return { ok: true, value: node.value };
    case 'site':
      return siteValue(node.site, node.pointer, context, ev);
    case 'text': {
      let out = '';
      for (const part of node.parts) {
        if (typeof part === 'string') {
          out += part;
          continue;
        }
        const v = await siteValue(part, node.pointer, context, ev);
        if (!v.ok) return v;
        // Counted as JSON text, quoted; inside text a string has no quotes of its own.
        if (typeof v.value === 'string') ev.budget.room.left += 2;
        if (v.value === undefined)
          return {
            ok: false,
            pointer: node.pointer,
            problem: 'a {{ }} inside the text gives nothing',
            kind: 'nothing',
          };
        out += typeof v.value === 'string' ? v.value : JSON.stringify(v.value);
        if (out.length > ev.budget.limits.maxBytes)
          return {
            ok: false,
            pointer: node.pointer,
            problem: `the text is longer than ${ev.budget.limits.maxBytes} characters`,
            kind: 'size',
          };
      }
      return { ok: true, value: out };
    }
    case 'array': {
      const out: JsonValue[] = [];
      for (const item of node.items) {
        const v = await evaluateNode(item, context, ev);
        if (!v.ok) return v;
        if (v.value === undefined) return nothingAt(item);
        out.push(v.value);
      }
      return { ok: true, value: out };
    }
    case 'object': {
      const out: Record<string, JsonValue> = {};
      for (const [key, item] of node.members) {
        const v = await evaluateNode(item, context, ev);
        if (!v.ok) return v;
        // In an object member, nothing omits the member: the contract then says whether it is needed.
        if (v.value !== undefined) setMember(out, key, v.value);
      }
      return { ok: true, value: out };
    }
  }
}

function nothingAt(node: Node): Evaluated {
  const pointer = node.kind === 'site' || node.kind === 'text' ? node.pointer : '';
  return { ok: false, pointer, problem: 'a list item gives nothing', kind: 'nothing' };
}

/**
 * Turns of the event loop, so that a long evaluation lets signals and other work in: after this
 * many steps, or this many sites, since the last turn.
 */
const PAUSE_STEPS = 5_000;
const PAUSE_SITES = 64;

/** One evaluation of a whole template: its budget, and when it last let the event loop turn. */
type Evaluation = { readonly budget: Budget; pausedAt: number; sitesSincePause: number };

async function siteValue(
  site: Site,
  pointer: string,
  context: Readonly<Record<string, unknown>>,
  ev: Evaluation,
): Promise<Evaluated> {
  const { budget } = ev;
  ev.sitesSincePause++;
  if (ev.sitesSincePause >= PAUSE_SITES || budget.steps - ev.pausedAt >= PAUSE_STEPS) {
    ev.sitesSincePause = 0;
    ev.pausedAt = budget.steps;
    await nextTurn();
  }
  const out = await run(site.expression, context, budget);
  if (!out.ok) return { ...out, pointer };
  // One room for all sites: the template's JSON text fails at the site that passes the bound.
  const json = toJson(out.value, budget.room, budget.limits.maxBytes, budget.limits.maxDepth);
  if (json.ok) return json;
  const problem =
    json.kind === 'size'
      ? `with this {{ }}, the JSON text made by the mapping passes ${budget.limits.maxBytes} characters`
      : json.problem;
  return { ...json, problem, pointer };
}
