import { tooDeepAt } from '../envelope/index.js';
import { compareBounds, compareValues, same } from './compat-bounds.js';
import {
  ANNOTATIONS,
  admits,
  deref,
  hasRef,
  isNode,
  shownTypes,
  strings,
  typesOf,
  typeValues,
  uncoveredTypes,
} from './compat-refs.js';
import { compareFiniteValues } from './compat-values.js';
import { MAX_SCHEMA_DEPTH } from './compile.js';
import { pointerOf } from './pointer.js';

/**
 * One way a new schema for a type rejects what its old schema accepted (`breaking`), or a change
 * the check cannot reason about (`unproven`). `pointer` points into the new schema at the keyword
 * (or, for a removed property, the `properties` that no longer lists it); `oldPointer` into the old
 * one. `message` is a plain sentence, for people only.
 */
export type CompatChange = {
  readonly code: 'MW_CONTRACT_BREAKING' | 'MW_CONTRACT_UNPROVEN';
  readonly keyword: string;
  readonly pointer: string;
  readonly oldPointer: string;
  readonly message: string;
};

export type CompatResult = {
  readonly breaking: readonly CompatChange[];
  readonly unproven: readonly CompatChange[];
};

type Path = readonly (string | number)[];
type Node = Readonly<Record<string, unknown>>;
/** Where a walk is: the schema nodes on both sides, their paths, and the payload location. */
export type Side = { readonly node: unknown; readonly path: Path };
export type Walk = {
  readonly old: Side;
  readonly next: Side;
  /** The payload location the nodes describe, like `/order/lines/*`: for sentences. */
  readonly where: string;
};
export type Report = (w: Walk, code: CompatChange['code'], keyword: string, message: string) => void;

// Keywords compared below; any other keyword that changed is "could not prove compatible".
const HANDLED = new Set([
  '$ref',
  'type',
  'enum',
  'const',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minItems',
  'maxItems',
  'uniqueItems',
  'items',
  'prefixItems',
  'minProperties',
  'maxProperties',
  'required',
  'properties',
  'additionalProperties',
  'allOf',
  'anyOf',
]);

/**
 * Lists what makes `next` (a type's new JSON Schema) reject payloads that `old` (its schema under
 * the same major version) accepted: a removed property, a newly required one, a narrowed type, enum,
 * const or range, a new or changed pattern or format, `additionalProperties` turned false; through
 * `properties`, `items`, `prefixItems`, `additionalProperties`, `allOf`, `anyOf` and local `$ref`s.
 * Widening is compatible, and so is a new optional property (see docs/policy.md). A keyword it
 * cannot reason about (`oneOf`, `not`, `if`, `patternProperties`, a remote `$ref`, an unknown one)
 * that was added or changed is `unproven`, never a silent pass. Pure; both schemas are plain JSON.
 */
export function compareSchemas(oldSchema: unknown, newSchema: unknown): CompatResult {
  const breaking: CompatChange[] = [];
  const unproven: CompatChange[] = [];
  const report: Report = (w, code, keyword, message) => {
    const change = {
      code,
      keyword,
      pointer: pointerOf(keywordPath(w.next, keyword)),
      oldPointer: pointerOf(keywordPath(w.old, keyword)),
      message: w.where === '' ? message : `at ${w.where}, ${message}`,
    };
    (code === 'MW_CONTRACT_BREAKING' ? breaking : unproven).push(change);
  };
  // Compiled contracts are never this deep (compile.ts); raw input is stopped before anything recurses.
  for (const [schema, side] of [
    [oldSchema, 'old'],
    [newSchema, 'new'],
  ] as const) {
    const deep = tooDeepAt(schema, MAX_SCHEMA_DEPTH);
    if (deep === undefined) continue;
    unproven.push({
      code: 'MW_CONTRACT_UNPROVEN',
      keyword: '',
      pointer: side === 'new' ? deep : '',
      oldPointer: side === 'old' ? deep : '',
      message: `the ${side} schema nests deeper than ${MAX_SCHEMA_DEPTH} levels, so the check does not walk it`,
    });
    return { breaking, unproven };
  }
  if (same(oldSchema, newSchema)) return { breaking, unproven };
  const roots = { old: oldSchema, next: newSchema };
  walk(
    { old: { node: oldSchema, path: [] }, next: { node: newSchema, path: [] }, where: '' },
    roots,
    report,
    { seen: new Set(), depth: 0 },
  );
  return { breaking, unproven };
}

/** The path of `keyword` in a node when it has it, else of the node. */
function keywordPath(side: Side, keyword: string): Path {
  return isNode(side.node) && Object.hasOwn(side.node, keyword) ? [...side.path, keyword] : side.path;
}

type Roots = { readonly old: unknown; readonly next: unknown };
/** The pairs of places compared so far, and how deep the walk is. */
type Ctx = { readonly seen: Set<string>; depth: number };

/**
 * How deep the walk may go: twice a contract's nesting limit, for `$ref`s followed on the way. A
 * walk is as deep as the schemas (each under MAX_SCHEMA_DEPTH), but `$ref`s that go round in
 * circles of different lengths on the two sides can meet again only far down; past this the pair
 * is reported as unproven rather than followed until the stack runs out.
 */
const MAX_WALK_DEPTH = 2 * MAX_SCHEMA_DEPTH;

function walk(w: Walk, roots: Roots, report: Report, ctx: Ctx): void {
  if (ctx.depth >= MAX_WALK_DEPTH) {
    report(
      w,
      'MW_CONTRACT_UNPROVEN',
      '',
      `the schemas nest more than ${MAX_WALK_DEPTH} levels deep here, through $refs, and the check stops`,
    );
    return;
  }
  ctx.depth++;
  try {
    walkNodes(w, roots, report, ctx);
  } finally {
    ctx.depth--;
  }
}

function walkNodes(w0: Walk, roots: Roots, report: Report, ctx: Ctx): void {
  const old = deref(w0.old, roots.old);
  const next = deref(w0.next, roots.next);
  const w: Walk = {
    old: 'side' in old ? old.side : w0.old,
    next: 'side' in next ? next.side : w0.next,
    where: w0.where,
  };
  // Unfollowed, a `$ref` may stand for anything on either side: say so, whatever else is written.
  const unfollowed = 'unproven' in next ? next.unproven : 'unproven' in old ? old.unproven : undefined;
  if (unfollowed !== undefined) {
    report(w, 'MW_CONTRACT_UNPROVEN', '$ref', unfollowed);
    return;
  }
  // Two `$ref`s meeting again (a recursive schema): what holds the first time holds here.
  const key = `${pointerOf(w.old.path)}|${pointerOf(w.next.path)}`;
  if (ctx.seen.has(key)) return;
  ctx.seen.add(key);
  const o = w.old.node;
  const n = w.next.node;
  if (o === false) return;
  if (n === false) {
    report(w, 'MW_CONTRACT_BREAKING', '', 'the schema is now false, so it accepts nothing');
    return;
  }
  if (!isNode(n)) return; // `true`: accepts everything
  const O: Node = isNode(o) ? o : {};
  if (same(O, n) && !hasRef(n)) return;
  if (compareFiniteValues(w, O, n, roots, report)) return;
  const oldTypes = typesOf(O);
  const newTypes = typesOf(n);
  compareType(w, O, n, oldTypes, newTypes, report);
  compareValues(w, O, n, report);
  const both = (t: string) => admits(oldTypes, t) && admits(newTypes, t);
  compareBounds(
    w,
    O,
    n,
    { number: both('number'), string: both('string'), array: both('array'), object: both('object') },
    report,
  );
  if (both('object')) compareObject(w, O, n, roots, report, ctx);
  if (both('array')) compareArray(w, O, n, roots, report, ctx);
  compareCombinators(w, O, n, roots, report, ctx);
  for (const [keyword, value] of Object.entries(n)) {
    if (HANDLED.has(keyword) || ANNOTATIONS.has(keyword)) continue;
    if (Object.hasOwn(O, keyword) && same(O[keyword], value) && !hasRef(value)) continue;
    const what = Object.hasOwn(O, keyword) ? 'changed' : 'was added';
    report(
      w,
      'MW_CONTRACT_UNPROVEN',
      keyword,
      `"${keyword}" ${what}, and the check cannot tell whether that rejects what was accepted`,
    );
  }
}

function compareType(
  w: Walk,
  O: Node,
  n: Node,
  oldTypes: readonly string[],
  newTypes: readonly string[],
  report: Report,
): void {
  const lost = oldTypes.filter((t) => !admits(newTypes, t));
  if (O.type !== undefined || n.type !== undefined) {
    // `number` kept as `integer` loses the fractions: that narrows too, unless the old numbers were
    // whole already (a whole `multipleOf`, like 1).
    const whole = typeof O.multipleOf === 'number' && Number.isInteger(O.multipleOf);
    if (oldTypes.includes('number') && !newTypes.includes('number') && newTypes.includes('integer') && !whole)
      lost.push('number');
  }
  if (lost.length === 0) return;
  report(
    w,
    'MW_CONTRACT_BREAKING',
    'type',
    `the type narrowed from ${shownTypes(O.type)} to ${shownTypes(n.type)}, so ${typeValues(lost, newTypes.includes('integer'))} are rejected`,
  );
}

function compareObject(w: Walk, O: Node, n: Node, roots: Roots, report: Report, ctx: Ctx): void {
  const oldRequired = strings(O.required);
  for (const name of strings(n.required)) {
    if (!oldRequired.includes(name))
      report(
        w,
        'MW_CONTRACT_BREAKING',
        'required',
        `"${name}" is newly required, so payloads without it are rejected`,
      );
  }
  const oldProps = isNode(O.properties) ? O.properties : {};
  const newProps = isNode(n.properties) ? n.properties : {};
  const child = (name: string, oldNode: unknown, oldPath: Path, newNode: unknown, newPath: Path): Walk => ({
    old: { node: oldNode, path: oldPath },
    next: { node: newNode, path: newPath },
    where: `${w.where}/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`,
  });
  for (const [name, schema] of Object.entries(oldProps)) {
    if (!Object.hasOwn(newProps, name)) {
      report(w, 'MW_CONTRACT_BREAKING', 'properties', `the property "${name}" was removed`);
      continue;
    }
    walk(
      child(name, schema, [...w.old.path, 'properties', name], newProps[name], [
        ...w.next.path,
        'properties',
        name,
      ]),
      roots,
      report,
      ctx,
    );
  }
  const oldExtra = O.additionalProperties;
  for (const [name, schema] of Object.entries(newProps)) {
    // A new property: what the old schema let it be, through additionalProperties, must still pass.
    if (Object.hasOwn(oldProps, name) || oldExtra === undefined || oldExtra === true || oldExtra === false)
      continue;
    walk(
      child(name, oldExtra, [...w.old.path, 'additionalProperties'], schema, [
        ...w.next.path,
        'properties',
        name,
      ]),
      roots,
      report,
      ctx,
    );
  }
  const newExtra = n.additionalProperties;
  if (newExtra === undefined || oldExtra === false) return;
  if (newExtra === false) {
    report(
      w,
      'MW_CONTRACT_BREAKING',
      'additionalProperties',
      'additionalProperties turned false, so payloads with properties it does not list are rejected',
    );
    return;
  }
  walk(
    child('*', oldExtra ?? true, [...w.old.path, 'additionalProperties'], newExtra, [
      ...w.next.path,
      'additionalProperties',
    ]),
    roots,
    report,
    ctx,
  );
}

function compareArray(w: Walk, O: Node, n: Node, roots: Roots, report: Report, ctx: Ctx): void {
  const oldPrefix = Array.isArray(O.prefixItems) ? O.prefixItems : [];
  const newPrefix = Array.isArray(n.prefixItems) ? n.prefixItems : [];
  const at = (s: Node, side: Side, prefix: readonly unknown[], i: number): Side =>
    i < prefix.length
      ? { node: prefix[i], path: [...side.path, 'prefixItems', i] }
      : { node: s.items ?? true, path: s.items === undefined ? side.path : [...side.path, 'items'] };
  for (let i = 0; i < Math.max(oldPrefix.length, newPrefix.length); i++)
    walk(
      { old: at(O, w.old, oldPrefix, i), next: at(n, w.next, newPrefix, i), where: `${w.where}/${i}` },
      roots,
      report,
      ctx,
    );
  if (n.items !== undefined)
    walk(
      {
        old: at(O, w.old, oldPrefix, Number.MAX_SAFE_INTEGER),
        next: at(n, w.next, newPrefix, Number.MAX_SAFE_INTEGER),
        where: `${w.where}/*`,
      },
      roots,
      report,
      ctx,
    );
}

/** allOf pairwise (a new conjunct against nothing); anyOf pairwise (a new branch only widens). */
function compareCombinators(w: Walk, O: Node, n: Node, roots: Roots, report: Report, ctx: Ctx): void {
  for (const keyword of ['allOf', 'anyOf'] as const) {
    const oldList = Array.isArray(O[keyword]) ? (O[keyword] as unknown[]) : undefined;
    const newList = Array.isArray(n[keyword]) ? (n[keyword] as unknown[]) : undefined;
    if (newList === undefined) continue;
    if (keyword === 'anyOf' && (oldList === undefined || newList.length < oldList.length)) {
      if (oldList !== undefined && same(oldList, newList)) continue;
      const what = oldList === undefined ? 'was added' : 'lost branches';
      // Before, the node itself was the one branch, when it names its type.
      const lost = uncoveredTypes(oldList ?? [O], newList, typesOf(O));
      if (lost.length > 0) {
        const shown = typeValues(lost);
        report(
          w,
          'MW_CONTRACT_BREAKING',
          keyword,
          `"anyOf" ${what}, and no branch accepts ${shown} any more, so they are rejected`,
        );
        continue;
      }
      report(
        w,
        'MW_CONTRACT_UNPROVEN',
        keyword,
        `"anyOf" ${what}, and the check cannot tell whether that rejects what was accepted`,
      );
      continue;
    }
    newList.forEach((schema, i) => {
      if (keyword === 'anyOf' && i >= (oldList?.length ?? 0)) return;
      const oldSide: Side =
        oldList !== undefined && i < oldList.length
          ? { node: oldList[i], path: [...w.old.path, keyword, i] }
          : { node: true, path: w.old.path };
      walk(
        { old: oldSide, next: { node: schema, path: [...w.next.path, keyword, i] }, where: w.where },
        roots,
        report,
        ctx,
      );
    });
  }
}
