/**
 * A mapping's reads of the handled message's content against the contracts of what the agent
 * consumes: `data.label` (or `$.data.label`) in a request, `message.data.label` in a reply. A member
 * no such contract names is most often a typo (`data.lable`): its site always gives nothing, so a
 * member is left out, a text around it fails, a condition takes its other branch. A warning where
 * a contract may allow members it does not name; a mistake where every one allows none.
 */
import jsonata from 'jsonata';
import type { Contract } from '../contracts/index.js';
import { closest } from '../envelope/index.js';
import { type Checker, entriesOf, isObj, labelOf, listOf, type Obj, str } from './check.js';
import { scanSites } from './mapping-scan.js';
import type { Path } from './source.js';

/** Where each side of a mapping finds the handled message's content. */
const CONTENT_AT = { request: ['data'], reply: ['message', 'data'] } as const;

export function checkRequestFields(check: Checker, doc: Obj, contracts: ReadonlyMap<string, Contract>): void {
  for (const [agent, spec] of entriesOf(doc.agents)) {
    if (!isObj(spec) || (spec.flowise === undefined && spec.http === undefined)) continue;
    const consumes = listOf(spec.consumes).flatMap((t) => str(t) ?? []);
    const named = namedMembers(consumes.map((t) => contracts.get(t)));
    if (named === undefined) continue;
    const { names: known, closed } = named;
    for (const side of ['request', 'reply'] as const) {
      const prefix = CONTENT_AT[side];
      forEachString(spec[side], ['agents', agent, side], (text, at) => {
        for (const read of contentReads(text, prefix)) {
          if (known.has(read.name)) continue;
          const near = closest(read.name, [...known]);
          const params = {
            where: labelOf(at),
            read: `${prefix.join('.')}.${read.name}`,
            types: consumes.join(', '),
            hint: `${closed ? 'its contracts allow no other member, so this is a mistake; ' : ''}${
              near === undefined
                ? `they name ${[...known].join(', ')}`
                : `did you mean ${prefix.join('.')}.${near}?`
            }`,
          };
          // A warning where a contract may allow members it does not name; a mistake where none may.
          check.reportIn('MW_POLICY_REQUEST_FIELD', params, at, read.offset, !closed);
        }
      });
    }
  }
}

/**
 * The top-level members the contracts name (`properties`), and whether every contract allows no
 * other (`additionalProperties: false` without `patternProperties`); undefined when any of them is
 * unknown here or names none: then nothing can be said.
 */
function namedMembers(
  contracts: readonly (Contract | undefined)[],
): { readonly names: Set<string>; readonly closed: boolean } | undefined {
  if (contracts.length === 0) return undefined;
  const names = new Set<string>();
  let closed = true;
  for (const contract of contracts) {
    const properties = contract?.schema.properties;
    if (!isObj(properties)) return undefined;
    for (const name of Object.keys(properties)) names.add(name);
    closed &&=
      contract?.schema.additionalProperties === false && contract.schema.patternProperties === undefined;
  }
  return { names, closed };
}

function forEachString(value: unknown, at: Path, visit: (text: string, at: Path) => void): void {
  if (typeof value === 'string') visit(value, at);
  else if (Array.isArray(value)) value.forEach((v, i) => void forEachString(v, [...at, i], visit));
  else if (isObj(value)) for (const [k, v] of Object.entries(value)) forEachString(v, [...at, k], visit);
}

type Node = { type?: string; value?: unknown; position?: number; steps?: Node[] };

/**
 * Each `<prefix>.<name>` a string's sites read (from the context's root, `$.` or `$$.` before it or
 * not), with the offset of `<name>` in the string.
 */
function contentReads(
  text: string,
  prefix: readonly string[],
): { readonly name: string; readonly offset: number }[] {
  const scanned = scanSites(text);
  if (!scanned.ok) return [];
  const reads: { name: string; offset: number }[] = [];
  for (const site of scanned.sites) {
    let ast: unknown;
    try {
      ast = jsonata(site.expr).ast();
    } catch {
      continue; // the mapping check reports the syntax error
    }
    // Inside a path's steps or a function, `$` is the item at hand, no longer the context's root.
    const visit = (node: unknown, nested: boolean): void => {
      if (Array.isArray(node)) {
        for (const item of node) visit(item, nested);
        return;
      }
      if (node === null || typeof node !== 'object') return;
      const n = node as Node;
      const path = n.type === 'path' && Array.isArray(n.steps);
      const read = path ? memberRead(n.steps!, prefix, nested) : undefined;
      if (read !== undefined) {
        const name = String(read.value);
        // JSONata's position is just past the token.
        reads.push({ name, offset: site.exprAt + Math.max(0, (read.position ?? 0) - name.length) });
      }
      for (const child of Object.values(n)) visit(child, nested || path || n.type === 'lambda');
    };
    visit(ast, false);
  }
  return reads;
}

/**
 * The step naming the member a path reads under `prefix`, if the path starts there: at the context's
 * root, which is `$$.`, and also `$.` or nothing before `prefix` unless `nested` (then those are the
 * item at hand).
 */
function memberRead(steps: readonly Node[], prefix: readonly string[], nested: boolean): Node | undefined {
  const [first] = steps;
  const variable = first?.type === 'variable';
  if (variable ? !(first.value === '$' || (first.value === '' && !nested)) : nested) return undefined;
  const root = variable ? 1 : 0;
  for (let i = 0; i < prefix.length; i++) {
    const step = steps[root + i];
    if (step?.type !== 'name' || step.value !== prefix[i]) return undefined;
  }
  const member = steps[root + prefix.length];
  return member?.type === 'name' ? member : undefined;
}
