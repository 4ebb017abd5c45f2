import type { ValidateFunction } from 'ajv';
import { compilerFor } from './ajv.js';
import type { Report, Walk } from './compat.js';
import { pointerOf } from './pointer.js';

type Node = Readonly<Record<string, unknown>>;
type Roots = { readonly old: unknown; readonly next: unknown };

/**
 * When the old node allows a finite set of values (`enum` or `const`), compatibility is exact:
 * every value the old node accepts must pass the new node, whatever keywords changed around it
 * (adding `"type": "string"` beside an enum of strings narrows nothing). Each node is validated
 * with Ajv inside its own document, so `$ref`s resolve. Returns false when it cannot decide (the
 * caller then compares keyword by keyword).
 */
export function compareFiniteValues(w: Walk, O: Node, n: Node, roots: Roots, report: Report): boolean {
  const values = Array.isArray(O.enum) ? O.enum : Object.hasOwn(O, 'const') ? [O.const] : undefined;
  if (values === undefined) return false;
  const before = validatorAt(roots.old, pointerOf(w.old.path));
  const after = validatorAt(roots.next, pointerOf(w.next.path));
  if (before === undefined || after === undefined) return false;
  const lost = values.filter((v) => before(v) && !after(v));
  if (lost.length > 0) {
    // Blame the new enum or const when there is one; else the node, whose other keywords did it.
    const keyword = Object.hasOwn(n, 'const') ? 'const' : Object.hasOwn(n, 'enum') ? 'enum' : '';
    const shown = lost.map((v) => JSON.stringify(v)).join(', ');
    const verb = lost.length === 1 ? 'is' : 'are';
    const what = keyword === '' ? 'the schema around the old enum changed' : `${keyword} narrowed`;
    report(w, 'MW_CONTRACT_BREAKING', keyword, `${what}: ${shown} ${verb} no longer accepted`);
  }
  return true;
}

let documents = 0;

/** A validator of the subschema at `pointer` of `root`, or undefined when Ajv cannot make one. */
function validatorAt(root: unknown, pointer: string): ValidateFunction | undefined {
  if (root === null || typeof root !== 'object' || Array.isArray(root)) return undefined;
  const { $id: _id, ...schema } = root as Record<string, unknown>;
  const ajv = compilerFor(schema.$schema, true);
  if (ajv === undefined) return undefined;
  const key = `mw-compat-${++documents}`;
  try {
    ajv.addSchema(schema, key);
    const fragment = pointer.split('/').map(encodeURIComponent).join('/');
    return ajv.getSchema(`${key}#${fragment}`) ?? undefined;
  } catch {
    return undefined;
  } finally {
    ajv.removeSchema(key);
  }
}
