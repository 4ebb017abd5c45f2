import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { parsePointer } from '../contracts/index.js';
import { closest } from '../envelope/index.js';
import { type Checker, labelOf, pathIn } from './check.js';
import { MESH_SCHEMA, PATTERN_RULES } from './schema.js';

// ajv-formats is CommonJS; under NodeNext its default import is typed as the module object.
const addFormats = addFormatsPlugin as unknown as typeof addFormatsPlugin.default;

// Compiled once per process: the schema is static. verbose adds parentSchema and data to errors.
const ajv = new Ajv2020({ allErrors: true, verbose: true, logger: false });
addFormats(ajv, ['uri']);
const validateMesh = ajv.compile(MESH_SCHEMA);

/** Checks the document against MESH_SCHEMA, reporting each mistake where it is written. */
export function checkShape(check: Checker): void {
  if (validateMesh(check.mesh.value)) return;
  for (const e of validateMesh.errors ?? []) report(check, e);
}

function report(check: Checker, e: ErrorObject): void {
  const path = pathIn(check.mesh.value, parsePointer(e.instancePath));
  const where = labelOf(path);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const known = Object.keys((e.parentSchema?.properties as object | undefined) ?? {});
      const near = closest(key, known);
      const hint = near === undefined ? `; known keys are ${known.join(', ')}` : `; did you mean "${near}"?`;
      check.report('MW_POLICY_UNKNOWN_KEY', { key, where, hint }, [...path, key], 'key');
      return;
    }
    case 'required':
      check.report('MW_POLICY_MISSING_KEY', { where, key: String(p.missingProperty) }, path, 'key');
      return;
    case 'type': {
      const actual = kindOf(e.data);
      const hint =
        path.at(-1) === 'version' && typeof e.data === 'number'
          ? ` (quote it: version: "${String(e.data)}")`
          : '';
      check.report('MW_POLICY_TYPE', { where, expected: expected(p.type), actual, hint }, path);
      return;
    }
    case 'propertyNames':
      return; // its inner error, which names the property, is reported instead
    case 'pattern': {
      const rule = PATTERN_RULES[String(p.pattern)] ?? `must match ${String(p.pattern)}`;
      if (e.propertyName !== undefined) {
        const what = path[0] === 'effects' ? 'effect' : path[0] === 'ingress' ? 'ingress' : 'agent';
        check.report(
          'MW_POLICY_BAD_NAME',
          { what, name: e.propertyName, rule },
          [...path, e.propertyName],
          'key',
        );
      } else {
        check.report(
          'MW_POLICY_BAD_VALUE',
          { where, problem: `is ${JSON.stringify(e.data)}: ${rule}` },
          path,
        );
      }
      return;
    }
    default:
      check.report('MW_POLICY_BAD_VALUE', { where, problem: problemOf(e) }, path);
  }
}

function problemOf(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'enum':
      return `is ${JSON.stringify(e.data)}, but must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'minimum':
      return `is ${String(e.data)}, but must be at least ${String(p.limit)}`;
    case 'maximum':
      return `is ${String(e.data)}, but must be at most ${String(p.limit)}`;
    case 'exclusiveMinimum':
      return `is ${String(e.data)}, but must be above ${String(p.limit)}`;
    case 'exclusiveMaximum':
      return `is ${String(e.data)}, but must be below ${String(p.limit)}`;
    case 'minLength':
      return 'must not be empty';
    case 'format':
      return `is ${JSON.stringify(e.data)}, which is not an absolute URL`;
    default:
      return e.message ?? `fails "${e.keyword}"`;
  }
}

const KIND: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map of keys',
  null: 'empty',
};

function expected(type: unknown): string {
  const types = Array.isArray(type) ? type : String(type).split(',');
  return types.map((t) => KIND[String(t)] ?? String(t)).join(' or ');
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number') return `the number ${value}`;
  return KIND[typeof value] ?? typeof value;
}
