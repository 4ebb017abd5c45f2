import {
  backtrackRisk,
  type Contract,
  compileContract,
  type Issue,
  MAX_SCHEMA_DEPTH,
  parsePointer,
  pointerOf,
} from '../contracts/index.js';
import { duplicateKeyAt, errorText, isTypeName, type JsonObject } from '../envelope/index.js';
import { type Checker, isObj } from './check.js';
import { type PolicyCode, type PolicyParams, policyMessage } from './errors.js';
import { contractFileOf } from './files.js';
import type { Graph } from './graph.js';
import type { PolicyIssue } from './issues.js';
import { locateInJson, type Position, positionOf, tooDeepOffset } from './source.js';
import { type ToolSchemaResult, toolContract } from './tool-schemas.js';

export type CompiledContracts = {
  readonly contracts: ReadonlyMap<string, Contract>;
  /** The parsed schemas by type: part of the policy digest. */
  readonly schemas: Readonly<Record<string, JsonObject>>;
};

/**
 * Compiles the contract of every message type and effect from the given file texts (type → text;
 * a missing entry is a missing file, or one `unread` says why it could not be read). An MCP effect without a file takes its tool's input schema
 * from `tools` (effect → what was read from the server). A missing contract is reported where the
 * type is first named; a broken file inside itself; a tool schema at the effect.
 */
export function compileContracts(
  check: Checker,
  graph: Graph,
  texts: ReadonlyMap<string, string>,
  tools: ReadonlyMap<string, ToolSchemaResult>,
  unread: ReadonlyMap<string, string> = new Map(),
): CompiledContracts {
  const contracts = new Map<string, Contract>();
  const schemas: Record<string, JsonObject> = {};
  const names = [...new Set([...graph.messageTypes, ...graph.effects.keys()])].filter(isTypeName);
  for (const type of names) {
    const { file } = contractFileOf(check.mesh, type);
    const text = texts.get(type);
    const effect = graph.effects.get(type);
    const tool = tools.get(type);
    if (text === undefined && effect?.mcp !== undefined && tool !== undefined) {
      const contract = toolContract(check, { ...effect, mcp: effect.mcp }, tool, file);
      if (contract !== undefined) {
        contracts.set(type, contract);
        schemas[type] = contract.schema;
      }
      continue;
    }
    if (text === undefined) {
      // An `mcp` that did not compile (no tool, not a server) is reported already.
      if (effect !== undefined && effect.mcp === undefined && mcpWritten(check, type)) continue;
      const kind = effect === undefined ? 'message type' : 'effect';
      const hint = effect?.mcp === undefined ? '' : MCP_HINT;
      const why = unread.get(type) ?? 'does not exist';
      check.report(
        'MW_POLICY_MISSING_CONTRACT',
        { kind, type, file, why, hint },
        graph.mentions.get(type) ?? [],
      );
      continue;
    }
    let schema: unknown;
    try {
      schema = JSON.parse(text);
    } catch (err) {
      const reason = errorText(err);
      const at = positionOf(text, jsonErrorOffset(reason, text));
      check.issues.push(issueIn('MW_POLICY_CONTRACT_JSON', file, at, '', { type, reason }));
      continue;
    }
    // A name given twice: JSON.parse keeps the last, where whoever reads the file reads the first.
    const twice = duplicateKeyAt(text);
    if (twice !== undefined) {
      const at = locateInJson(text)(parsePointer(twice), 'key');
      const reason = `it gives the member ${twice} twice, and JSON keeps only the last`;
      check.issues.push(issueIn('MW_POLICY_CONTRACT_JSON', file, at, twice, { type, reason }));
      continue;
    }
    const compiled = compileContract(type, schema);
    const deep = compiled.ok ? undefined : compiled.issues.find((i) => i.keyword === 'depth');
    if (deep !== undefined) {
      // At the bracket that goes past the limit, found in the text: locating through YAML would recurse.
      const at = positionOf(text, tooDeepOffset(text, MAX_SCHEMA_DEPTH) ?? 0);
      const params = { type, max: MAX_SCHEMA_DEPTH, payload: MAX_SCHEMA_DEPTH / 2 - 1 };
      check.issues.push(issueIn('MW_POLICY_CONTRACT_TOO_DEEP', file, at, pointerOf(deep.path), params));
      continue;
    }
    if (!compiled.ok) {
      const locate = locateInJson(text);
      for (const issue of compiled.issues) {
        const at = locate(issue.path, onKey(issue) ? 'key' : 'value');
        const params = { type, reason: issue.message };
        check.issues.push(issueIn('MW_POLICY_CONTRACT_SCHEMA', file, at, pointerOf(issue.path), params));
      }
      continue;
    }
    contracts.set(type, compiled.contract);
    schemas[type] = compiled.contract.schema;
    const risky = backtrackingPatterns(compiled.contract.schema);
    if (risky.length > 0) {
      const locate = locateInJson(text);
      for (const { path, pattern, risk } of risky) {
        const params = { type, pattern: JSON.stringify(pattern) };
        const at = locate(path, path.at(-2) === 'patternProperties' ? 'key' : 'value');
        // Exponential is refused: one message could hold the mesh for minutes.
        const [code, into] =
          risk === 'exponential'
            ? (['MW_POLICY_PATTERN_BACKTRACKS', check.issues] as const)
            : (['MW_POLICY_PATTERN_SLOW', check.warnings] as const);
        into.push(issueIn(code, file, at, pointerOf(path), params));
      }
    }
  }
  return { contracts, schemas };
}

/**
 * The `pattern`s and `patternProperties` names of a schema that can backtrack for long on a message
 * (linear-pattern.ts, backtrackRisk), where they are. Values (`const`, `enum`, `default`,
 * `examples`) are data, not schema, and are not read.
 */
function backtrackingPatterns(schema: unknown, path: (string | number)[] = []) {
  const found: { path: (string | number)[]; pattern: string; risk: 'exponential' | 'polynomial' }[] = [];
  if (schema === null || typeof schema !== 'object') return found;
  for (const [key, value] of Object.entries(schema)) {
    if (!Array.isArray(schema) && DATA_KEYWORDS.has(key)) continue;
    const at = [...path, Array.isArray(schema) ? Number(key) : key];
    if (key === 'pattern' && typeof value === 'string' && !Array.isArray(schema)) {
      const risk = backtrackRisk(value);
      if (risk !== undefined) found.push({ path: at, pattern: value, risk });
    } else if (key === 'patternProperties' && value !== null && typeof value === 'object') {
      for (const name of Object.keys(value)) {
        const risk = backtrackRisk(name);
        if (risk !== undefined) found.push({ path: [...at, name], pattern: name, risk });
      }
      for (const [name, sub] of Object.entries(value))
        found.push(...backtrackingPatterns(sub, [...at, name]));
    } else {
      found.push(...backtrackingPatterns(value, at));
    }
  }
  return found;
}

const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples']);

/** Why an MCP effect has no contract when nothing read its tool's schema (a compile without transports). */
const MCP_HINT =
  ", and its tool's input schema was not read: the warden reads it from the MCP server when it loads the policy and can reach the server (meshwarden run, up and policy check do)";

function mcpWritten(check: Checker, effect: string): boolean {
  const effects = isObj(check.mesh.value) ? check.mesh.value.effects : undefined;
  const spec = isObj(effects) ? effects[effect] : undefined;
  return isObj(spec) && spec.mcp !== undefined;
}

/** An unknown keyword is best shown at its key; other schema mistakes at their value. */
function onKey(issue: Issue): boolean {
  return issue.keyword === 'compile' && issue.path.length > 0;
}

function issueIn(
  code: PolicyCode,
  file: string,
  at: Position,
  pointer: string,
  reason: PolicyParams,
): PolicyIssue {
  return { code, file, line: at.line, col: at.col, pointer, message: policyMessage(code, reason) };
}

/** Where JSON.parse stopped: its message names a position, or the text ended early. */
function jsonErrorOffset(reason: string, text: string): number {
  const position = /position (\d+)/.exec(reason);
  if (position) return Number(position[1]);
  return /end of (JSON|data)/i.test(reason) ? text.length : 0;
}
