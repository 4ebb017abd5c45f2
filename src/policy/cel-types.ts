import type { Environment } from '@marcbachmann/cel-js';
import { isObj, type Obj } from './check.js';

/**
 * The CEL type of `msg` for messages of one type, read from its contract (a JSON Schema), as the
 * runtime will see them: the gate checks the contract before approvals, and JSON values reach CEL
 * as plain JS values, so a string is a `string`, a number (`number` or `integer` alike) a `double`,
 * a boolean a `bool`, an array a `list`, an object a `map`. Anything the schema does not pin down
 * to one of those (no `type`, a list of types, `$ref` outside the document) is `dyn`, which the
 * checker never rejects: the declaration must never refuse what works at run time.
 *
 * An object with `properties` becomes a type with those fields. Unless the schema closes it
 * (`additionalProperties: false` and no `patternProperties`), it also gets every name in `names`
 * (the field names the expression reads anywhere) as `dyn`, so a field the contract does not list
 * is never called unknown. A closed object gets the names in `guarded` (tested with `has(…)` or
 * `"f" in …` somewhere in the expression) as `dyn`: guarded reads are safe, and telling them from
 * unguarded ones is not worth the risk of refusing a predicate that works. Envelope attributes are
 * typed the same way: extension attributes exist, so `msg` stays open.
 */
export type MsgShape = {
  /** Closed object types: type name → the fields the contract allows, for hints. */
  readonly closed: ReadonlyMap<string, readonly string[]>;
};

const ATTRIBUTES: Readonly<Record<string, string>> = {
  specversion: 'string',
  id: 'string',
  source: 'string',
  type: 'string',
  time: 'string',
  subject: 'string',
  datacontenttype: 'string',
  dataschema: 'string',
  correlationid: 'string',
  causationid: 'string',
  hop: 'double',
  ancestry: 'string',
  target: 'string',
  traceparent: 'string',
  tracestate: 'string',
  agentversion: 'string',
  model: 'string',
  inputdigest: 'string',
  policydigest: 'string',
  signature: 'string',
};

const MAX_DEPTH = 12;

/** Declares `msg` on `env` (a fresh clone): its attributes, and `data` typed from `schema`. */
export function declareMsg(
  env: Environment,
  schema: unknown,
  names: ReadonlySet<string>,
  guarded: ReadonlySet<string> = new Set(),
): MsgShape {
  const closed = new Map<string, string[]>();
  const used = new Set<string>();
  /** A type name cel-js accepts, unique in this environment. */
  const nameFor = (path: string): string => {
    const base = path.replace(/[^A-Za-z0-9_.]/g, '_');
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
  const typeOf = (node: unknown, name: string, depth: number): string => {
    const s = resolve(schema, node);
    if (!isObj(s) || depth > MAX_DEPTH) return 'dyn';
    switch (kindOf(s)) {
      case 'string':
        return 'string';
      case 'number':
      case 'integer':
        return 'double';
      case 'boolean':
        return 'bool';
      case 'null':
        return 'null_type';
      case 'array':
        return isObj(s.items) && s.prefixItems === undefined
          ? `list<${typeOf(s.items, `${name}_item`, depth + 1)}>`
          : 'list<dyn>';
      case 'object':
        return objectType(s, name, depth);
      default:
        return 'dyn';
    }
  };
  const objectType = (s: Obj, name: string, depth: number): string => {
    const properties = isObj(s.properties) ? s.properties : undefined;
    const isClosed = s.additionalProperties === false && s.patternProperties === undefined;
    const extra =
      isObj(s.additionalProperties) && !isClosed
        ? typeOf(s.additionalProperties, `${name}_value`, depth + 1)
        : 'dyn';
    if (properties === undefined && !isClosed) return `map<string, ${extra}>`;
    const typeName = nameFor(name);
    const fields: Record<string, string> = Object.create(null);
    for (const [key, value] of Object.entries(properties ?? {}))
      fields[key] = typeOf(value, `${name}.${key}`, depth + 1);
    if (isClosed) {
      closed.set(typeName, Object.keys(fields));
      // Behind `has(x.f) && x.f …` a field a closed object cannot have is never read: the guard is false first.
      for (const key of guarded) fields[key] ??= 'dyn';
    } else for (const key of names) fields[key] ??= extra;
    env.registerType({ name: typeName, fields });
    return typeName;
  };
  const data = typeOf(schema, 'msg.data', 0);
  const fields: Record<string, string> = { ...ATTRIBUTES, data };
  for (const key of names) fields[key] ??= 'dyn';
  const msg = nameFor('msg');
  env.registerType({ name: msg, fields });
  env.registerVariable('msg', msg);
  return { closed };
}

/** The one JSON type a schema allows, from `type` or else from its `const` or `enum` values. */
function kindOf(s: Obj): string | undefined {
  if (typeof s.type === 'string') return s.type;
  if (s.type !== undefined) return undefined;
  const values = 'const' in s ? [s.const] : Array.isArray(s.enum) ? s.enum : [];
  const kinds = new Set(values.map(jsonKind));
  return kinds.size === 1 ? [...kinds][0] : undefined;
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : typeof value;
}

/** Follows a `$ref` into the same document (`#/$defs/x`); a schema without one is itself. */
function resolve(root: unknown, node: unknown, hops = 0): unknown {
  if (!isObj(node) || typeof node.$ref !== 'string' || hops > MAX_DEPTH) return node;
  // A `$ref` with siblings (`type`, `properties`) applies both: reading the siblings alone stays sound.
  if (node.type !== undefined) return node;
  const ref = node.$ref;
  if (!ref.startsWith('#')) return undefined;
  let at: unknown = root;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const token = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    at = isObj(at) ? at[token] : Array.isArray(at) ? at[Number(token)] : undefined;
  }
  return resolve(root, at, hops + 1);
}
