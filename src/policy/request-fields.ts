/**
 * A request mapping's reads of the handled message's content (`data.label`) against the contracts
 * of what the agent consumes. A member no such contract names is most often a typo (`data.lable`):
 * its site gives nothing, so the member is left out of every request, silently. A warning, not a
 * mistake: a contract may allow members it does not name.
 */
import jsonata from 'jsonata';
import type { Contract } from '../contracts/index.js';
import { type Checker, entriesOf, isObj, labelOf, listOf, type Obj, str } from './check.js';
import { scanSites } from './mapping-scan.js';
import { closest } from './shape.js';
import type { Path } from './source.js';

export function checkRequestFields(check: Checker, doc: Obj, contracts: ReadonlyMap<string, Contract>): void {
  for (const [agent, spec] of entriesOf(doc.agents)) {
    if (!isObj(spec) || (spec.flowise === undefined && spec.http === undefined)) continue;
    if (spec.request === undefined) continue;
    const consumes = listOf(spec.consumes).flatMap((t) => str(t) ?? []);
    const known = namedMembers(consumes.map((t) => contracts.get(t)));
    if (known === undefined) continue;
    forEachString(spec.request, ['agents', agent, 'request'], (text, at) => {
      for (const read of dataReads(text)) {
        if (known.has(read.name)) continue;
        const near = closest(read.name, [...known]);
        const params = {
          where: labelOf(at),
          member: read.name,
          types: consumes.join(', '),
          hint: near === undefined ? `it names ${[...known].join(', ')}` : `did you mean data.${near}?`,
        };
        check.reportIn('MW_POLICY_REQUEST_FIELD', params, at, read.offset, true);
      }
    });
  }
}

/**
 * The top-level members the contracts name (`properties`), or undefined when any of them is unknown
 * here or names none: then nothing can be said.
 */
function namedMembers(contracts: readonly (Contract | undefined)[]): Set<string> | undefined {
  if (contracts.length === 0) return undefined;
  const names = new Set<string>();
  for (const contract of contracts) {
    const properties = contract?.schema.properties;
    if (!isObj(properties)) return undefined;
    for (const name of Object.keys(properties)) names.add(name);
  }
  return names;
}

function forEachString(value: unknown, at: Path, visit: (text: string, at: Path) => void): void {
  if (typeof value === 'string') visit(value, at);
  else if (Array.isArray(value)) value.forEach((v, i) => void forEachString(v, [...at, i], visit));
  else if (isObj(value)) for (const [k, v] of Object.entries(value)) forEachString(v, [...at, k], visit);
}

type Node = { type?: string; value?: unknown; position?: number; steps?: Node[] };

/** Each `data.<name>` a string's sites read, with the offset of `<name>` in the string. */
function dataReads(text: string): { readonly name: string; readonly offset: number }[] {
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
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) {
        for (const item of node) visit(item);
        return;
      }
      if (node === null || typeof node !== 'object') return;
      const n = node as Node;
      const [first, second] = n.type === 'path' && Array.isArray(n.steps) ? n.steps : [];
      if (first?.type === 'name' && first.value === 'data' && second?.type === 'name') {
        const name = String(second.value);
        // JSONata's position is just past the token.
        reads.push({ name, offset: site.exprAt + Math.max(0, (second.position ?? 0) - name.length) });
      }
      for (const child of Object.values(n)) visit(child);
    };
    visit(ast);
  }
  return reads;
}
