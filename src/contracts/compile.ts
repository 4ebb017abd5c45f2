import type { ErrorObject, ValidateFunction } from 'ajv';
import { errorText, type JsonObject, MAX_JSON_DEPTH, tooDeepAt } from '../envelope/index.js';
import { compilerFor, DIALECT_2020, DIALECT_DRAFT_07 } from './ajv.js';
import { parsePointer } from './pointer.js';
import type { Contract, Issue } from './types.js';

const NO_ISSUES: readonly Issue[] = Object.freeze([]);

export type CompileContractResult =
  | { readonly ok: true; readonly contract: Contract }
  | { readonly ok: false; readonly issues: readonly Issue[] };

export type CompileContractOptions = {
  /**
   * The input schema of an MCP tool, a third party's: JSON Schema draft-07 is accepted too (servers
   * built with the v1 SDK write it), and unknown keywords are ignored rather than refused. Contract
   * files are 2020-12 only, and strict.
   */
  readonly tool?: boolean;
};

/**
 * How deep a contract's schema may nest: 128 levels (brackets open at once; the schema is level 1),
 * twice the envelope's MAX_JSON_DEPTH. Describing a payload one level deeper takes two schema levels
 * (`properties`, then the name), so 128 is enough for any payload a message may carry (its `data`
 * nests at most 63 levels). A deeper schema is refused before Ajv, or the compatibility check,
 * walks it: both recurse, and run out of stack somewhere past a thousand levels.
 */
export const MAX_SCHEMA_DEPTH = 2 * MAX_JSON_DEPTH;

/**
 * Compiles a type's JSON Schema (2020-12, or draft-07 where allowed) once, at load; the contract's
 * `validate` reuses it.
 */
export function compileContract(
  type: string,
  schema: unknown,
  opts: CompileContractOptions = {},
): CompileContractResult {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    return invalid([], 'type', 'a contract must be a JSON object');
  }
  const deep = tooDeepAt(schema, MAX_SCHEMA_DEPTH);
  if (deep !== undefined)
    return invalid(parsePointer(deep), 'depth', `the schema nests deeper than ${MAX_SCHEMA_DEPTH} levels`);
  const tool = opts.tool === true;
  const instance = compilerFor((schema as Record<string, unknown>).$schema, tool);
  if (instance === undefined) {
    const supported = tool ? `${DIALECT_2020} and ${DIALECT_DRAFT_07}# are` : `${DIALECT_2020} is`;
    return invalid(['$schema'], 'const', `only ${supported} supported`);
  }
  if (!instance.validateSchema(schema)) {
    return { ok: false, issues: schemaIssues(instance.errors ?? []) };
  }
  let validator: ValidateFunction;
  try {
    validator = instance.compile(schema);
  } catch (err) {
    const reason = errorText(err);
    const keyword = /unknown keyword: "([^"]+)"/.exec(reason)?.[1];
    const path = keyword === undefined ? [] : (findKey(schema, keyword) ?? []);
    return invalid(path, 'compile', reason);
  } finally {
    instance.removeSchema(schema);
  }
  return { ok: true, contract: { type, schema: schema as JsonObject, validate: validatorOf(validator) } };
}

function validatorOf(validator: ValidateFunction): Contract['validate'] {
  return (data) => {
    try {
      if (validator(data)) return NO_ISSUES;
      return (validator.errors ?? []).map((e) => violation(e, data));
    } catch (err) {
      // Validators of JSON Schemas do not throw on JSON data; this is the "never throws" backstop.
      const message = `the validator failed: ${errorText(err)}`;
      return [{ code: 'MW_CONTRACT_VIOLATION', path: [], message, keyword: 'exception' }];
    }
  };
}

function violation(e: ErrorObject, data: unknown): Issue {
  return {
    code: 'MW_CONTRACT_VIOLATION',
    path: pathOf(e.instancePath, data),
    message: messageOf(e),
    keyword: e.keyword,
    params: e.params,
    schemaPointer: schemaPointerOf(e.schemaPath),
  };
}

/**
 * Ajv's `schemaPath` (`#/properties/amount/maximum`, a URI fragment) as a JSON pointer into the
 * schema; through a local `$ref` it names the definition, so it stays inside the contract file.
 */
function schemaPointerOf(schemaPath: string): string {
  const fragment = schemaPath.replace(/^#/, '');
  try {
    return decodeURIComponent(fragment);
  } catch {
    return fragment; // a `%` that is not an escape: Ajv left the name as written
  }
}

/** Ajv's `instancePath` as tokens: array indexes become numbers, found by walking the data. */
function pathOf(instancePath: string, data: unknown): (string | number)[] {
  if (instancePath === '') return [];
  const path: (string | number)[] = [];
  let at: unknown = data;
  for (const raw of instancePath.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(at) && /^(0|[1-9]\d*)$/.test(token)) {
      path.push(Number(token));
      at = at[Number(token)];
    } else {
      path.push(token);
      at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[token] : undefined;
    }
  }
  return path;
}

/** Ajv's message, made specific where Ajv leaves the detail in `params`. For people only. */
function messageOf(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
    case 'unevaluatedProperties':
      return `must not have the property "${String(p.additionalProperty ?? p.unevaluatedProperty)}"`;
    case 'required':
      return `must have the property "${String(p.missingProperty)}"`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    default:
      return e.message ?? `fails "${e.keyword}"`;
  }
}

function schemaIssues(errors: readonly ErrorObject[]): Issue[] {
  // The meta-schema reports one mistake several ways (enum, type, anyOf): keep the first per place.
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const e of errors) {
    if (seen.has(e.instancePath)) continue;
    seen.add(e.instancePath);
    const path = pathOf(e.instancePath, undefined);
    const last = path.at(-1);
    const what = last === undefined ? 'the schema' : `"${String(last)}"`;
    issues.push(invalidIssue(path, e.keyword, `${what} ${messageOf(e)}`, e.params));
  }
  return issues;
}

function invalid(path: (string | number)[], keyword: string, reason: string) {
  return { ok: false as const, issues: [invalidIssue(path, keyword, reason)] };
}

/** The message is the bare reason: the caller knows which contract and file it is about. */
function invalidIssue(
  path: (string | number)[],
  keyword: string,
  message: string,
  params?: Record<string, unknown>,
): Issue {
  const issue = { code: 'MW_CONTRACT_INVALID_SCHEMA', path, message, keyword };
  return params === undefined ? issue : { ...issue, params };
}

/** The first place (depth first, in key order) where an object has `key`: where Ajv's strict mode tripped. */
function findKey(value: unknown, key: string): (string | number)[] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (!Array.isArray(value) && Object.hasOwn(value, key)) return [key];
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  for (const [k, v] of entries) {
    const inner = findKey(v, key);
    if (inner !== undefined) return [k, ...inner];
  }
  return undefined;
}
