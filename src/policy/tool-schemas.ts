import { type Contract, compileContract, pointerOf } from '../contracts/index.js';
import { errorText, isTypeName } from '../envelope/index.js';
import { type Checker, createChecker, isObj } from './check.js';
import { compileGraph } from './graph.js';
import type { ParsedMesh, Path } from './source.js';
import type { EffectSpec } from './types.js';

/**
 * The input schema of an MCP effect's tool as read from its server, or why it could not be read.
 * `key` says which key of the effect the failure is about: the server (`mcp`, the default: it
 * cannot be reached, it timed out) or the tool (`tool`: the server does not list it).
 */
export type ToolSchemaResult =
  | { readonly ok: true; readonly schema: unknown }
  | { readonly ok: false; readonly reason: string; readonly key?: 'mcp' | 'tool' };

/**
 * Reads the input schema of the tool that executes an MCP effect (`spec.mcp` is set). The shell
 * makes it from its MCP transport, so the policy layer never speaks MCP itself. Never rejects.
 */
export type ToolSchemaReader = (spec: EffectSpec) => Promise<ToolSchemaResult>;

/**
 * Reads the tool schemas that stand in for missing contract files: one per MCP effect without a
 * file (`texts` has the files found). Effect name → what the reader answered.
 */
export async function readToolSchemas(
  mesh: ParsedMesh,
  texts: ReadonlyMap<string, string>,
  read: ToolSchemaReader,
): Promise<Map<string, ToolSchemaResult>> {
  // The graph is pure: a scratch checker lists the effects exactly as compilation reads them.
  const graph = compileGraph(createChecker(mesh), isObj(mesh.value) ? mesh.value : {});
  const wanted = [...graph.effects.values()].filter(
    (e) => e.mcp !== undefined && isTypeName(e.name) && !texts.has(e.name),
  );
  // A reader that throws or rejects anyway reads as a schema that could not be read.
  const read1 = (spec: EffectSpec): Promise<ToolSchemaResult> =>
    Promise.resolve()
      .then(() => read(spec))
      .catch((err: unknown) => ({ ok: false, reason: errorText(err) }));
  const results = await Promise.all(wanted.map(read1));
  return new Map(wanted.map((spec, i) => [spec.name, results[i]!]));
}

/**
 * The contract of an MCP effect from its tool's input schema (2020-12, or draft-07 as servers
 * built with the v1 SDK write it). A mistake is reported in the mesh file, at the effect: the
 * pointer into the tool's schema is in the sentence.
 */
export function toolContract(
  check: Checker,
  spec: EffectSpec & { readonly mcp: NonNullable<EffectSpec['mcp']> },
  read: ToolSchemaResult,
  file: string,
): Contract | undefined {
  const { server, tool } = spec.mcp;
  const at: Path = ['effects', spec.name];
  if (!read.ok) {
    const key = read.key ?? 'mcp';
    const fix =
      key === 'tool' ? 'name a tool the server lists' : 'make the server reachable when the policy is loaded';
    const params = { effect: spec.name, tool, server, reason: read.reason, fix, file };
    check.report('MW_POLICY_TOOL_SCHEMA', params, [...at, key]);
    return undefined;
  }
  const compiled = compileContract(spec.name, read.schema, { tool: true });
  if (compiled.ok) return compiled.contract;
  for (const issue of compiled.issues) {
    const pointer = pointerOf(issue.path);
    // Past the depth limit the pointer is hundreds of characters: the sentence says enough.
    const where =
      pointer === '' ? 'at its root' : issue.keyword === 'depth' ? 'deep inside' : `at ${pointer}`;
    const params = { effect: spec.name, tool, server, where, reason: issue.message, file };
    check.report('MW_POLICY_TOOL_CONTRACT', params, at, 'key');
  }
  return undefined;
}
