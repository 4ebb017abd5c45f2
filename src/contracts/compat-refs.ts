import type { Side } from './compat.js';

type Node = Readonly<Record<string, unknown>>;

// Keywords that say nothing about which payloads are valid.
export const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  '$comment',
  '$anchor',
  '$defs',
  'definitions',
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  'contentMediaType',
  'contentEncoding',
]);
const ALL_TYPES = ['null', 'boolean', 'object', 'array', 'number', 'string'] as const;

export type Deref = { side: Side } | { unproven: string };

/**
 * Follows a node's local `$ref` (`#`, `#/json/pointer`) while the node holds nothing else that
 * constrains a payload. A `$ref` beside other assertions, or one that is not a local pointer, is
 * left to the caller as unproven (unless the two sides are written the same).
 */
export function deref(side: Side, root: unknown): Deref {
  let current = side;
  for (let hops = 0; hops < 32; hops++) {
    const node = current.node;
    if (!isNode(node) || typeof node.$ref !== 'string') return { side: current };
    const ref = node.$ref;
    const extra = Object.keys(node).filter((k) => k !== '$ref' && !ANNOTATIONS.has(k));
    if (extra.length > 0)
      return {
        unproven: `the $ref "${ref}" has sibling keywords (${extra.join(', ')}), which the check does not merge`,
      };
    if (ref !== '#' && !ref.startsWith('#/'))
      return { unproven: `the $ref "${ref}" is not a local JSON pointer, so the check cannot follow it` };
    const tokens =
      ref === '#'
        ? []
        : ref
            .slice(2)
            .split('/')
            .map((t) => decodeURIComponent(t).replaceAll('~1', '/').replaceAll('~0', '~'));
    let target: unknown = root;
    for (const t of tokens)
      target = isNode(target) ? target[t] : Array.isArray(target) ? target[Number(t)] : undefined;
    if (target === undefined) return { unproven: `the $ref "${ref}" points at nothing` };
    current = {
      node: target,
      path: tokens.map((t, i) => (Array.isArray(parentAt(root, tokens, i)) ? Number(t) : t)),
    };
  }
  return { unproven: 'the $refs go round in a circle' };
}

function parentAt(root: unknown, tokens: readonly string[], i: number): unknown {
  let at = root;
  for (const t of tokens.slice(0, i)) at = isNode(at) ? at[t] : Array.isArray(at) ? at[Number(t)] : undefined;
  return at;
}

export function typesOf(s: Node): readonly string[] {
  if (typeof s.type === 'string') return [s.type];
  if (Array.isArray(s.type)) return s.type.filter((t): t is string => typeof t === 'string');
  return ALL_TYPES;
}

/** Whether values of JSON type `t` can pass a `type` list (`number` lets integers through). */
export function admits(types: readonly string[], t: string): boolean {
  if (types.includes(t)) return true;
  if (t === 'integer') return types.includes('number');
  if (t === 'number') return types.includes('integer');
  return false;
}

/** `null, boolean and number values`; `non-integer numbers` for `number` where integers still pass. */
export function typeValues(types: readonly string[], integersPass = false): string {
  const words = [...new Set(types)].map((t) =>
    t === 'number' && integersPass ? 'non-integer numbers' : t === 'integer' ? 'integers' : t,
  );
  const plain = words.filter((w) => !w.includes(' ') && w !== 'integers');
  const parts = [
    ...(plain.length === 0 ? [] : [`${listed(plain)} values`]),
    ...words.filter((w) => w.includes(' ') || w === 'integers'),
  ];
  return listed(parts);
}

function listed(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

/**
 * The JSON types values of the old branches could have (each branch with a `type` of its own and no
 * `enum` or `const`, within the old node's `type`) that no new branch admits: values of those types
 * that the old schema accepted, the new one rejects. A branch without `type` (a `$ref`, say) is not
 * looked into on the old side, and admits everything on the new side: nothing is claimed from it.
 */
export function uncoveredTypes(
  oldBranches: readonly unknown[],
  newBranches: readonly unknown[],
  oldTypes: readonly string[],
): string[] {
  const lost = new Set<string>();
  for (const branch of oldBranches) {
    if (
      !isNode(branch) ||
      branch.type === undefined ||
      Object.hasOwn(branch, 'enum') ||
      Object.hasOwn(branch, 'const')
    )
      continue;
    for (const t of typesOf(branch)) {
      if (!admits(oldTypes, t)) continue;
      if (!newBranches.some((b) => b === true || (isNode(b) && admits(typesOf(b), t)))) lost.add(t);
    }
  }
  return [...lost];
}

export function shownTypes(type: unknown): string {
  return type === undefined ? 'any type' : JSON.stringify(type);
}

export function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function isNode(value: unknown): value is Node {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function hasRef(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasRef);
  if (!isNode(value)) return false;
  return typeof value.$ref === 'string' || Object.values(value).some(hasRef);
}
