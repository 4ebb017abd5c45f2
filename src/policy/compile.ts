import { digestOf } from '../envelope/index.js';
import { compileAlerts } from './alerts.js';
import { createChecker, isObj, str } from './check.js';
import { compileContracts } from './contract-files.js';
import { compileDrift } from './drift.js';
import { compileGraph } from './graph.js';
import { compileGuards, ledgerOf, partitionsOf, partitionsPath } from './guards.js';
import { type PolicyLoadResult, sortIssues } from './issues.js';
import { checkReplyContracts } from './mapped-agents.js';
import { withRequiredMembers } from './reply-required.js';
import { checkRequestFields } from './request-fields.js';
import { compileRules } from './rules.js';
import { checkShape } from './shape.js';
import type { ParsedMesh } from './source.js';
import type { ToolSchemaResult } from './tool-schemas.js';

/**
 * Compiles a parsed mesh file and the texts of its contract files (type → JSON text; a type
 * without an entry has no file) into a Policy, or every mistake found. An MCP effect without a
 * file takes its contract from `tools`, its tool's input schema as read from the server (see
 * loadPolicy). Pure: no file system, no network, no clock. Checks run even after a shape mistake
 * so that one pass reports everything.
 */
export function compilePolicy(
  mesh: ParsedMesh,
  contracts: ReadonlyMap<string, string>,
  tools: ReadonlyMap<string, ToolSchemaResult> = new Map(),
  unread: ReadonlyMap<string, string> = new Map(),
): PolicyLoadResult {
  if (mesh.issues.length > 0) return { ok: false, issues: sortIssues(mesh.issues, mesh.file) };
  const check = createChecker(mesh);
  checkShape(check);
  const doc = isObj(mesh.value) ? mesh.value : {};
  const graph = compileGraph(check, doc);
  const compiled = compileContracts(check, graph, contracts, tools, unread);
  checkReplyContracts(check, doc, compiled.contracts);
  checkRequestFields(check, doc, compiled.contracts);
  const guards = compileGuards(check, doc);
  const rules = compileRules(check, doc, graph, new Map(Object.entries(compiled.schemas)));
  const alerts = compileAlerts(check, doc);
  const drift = compileDrift(check, doc, graph);
  const warnings = sortIssues([...mesh.warnings, ...check.warnings], mesh.file);
  if (check.issues.length > 0) return { ok: false, issues: sortIssues(check.issues, mesh.file), warnings };
  // The digest covers the document as written and every contract (a tool's schema included): any
  // change to either changes it.
  const digest = digestOf({ policy: mesh.value, contracts: compiled.schemas });
  return {
    ok: true,
    policy: {
      mesh: str(doc.mesh) ?? '',
      meshAt: mesh.locate(['mesh'], 'value'),
      digest,
      file: mesh.path,
      partitions: partitionsOf(doc),
      ...(partitionsPath(doc) === undefined
        ? {}
        : { partitionsAt: mesh.locate(partitionsPath(doc)!.path, 'value') }),
      ledger: ledgerOf(doc),
      agents: withRequiredMembers(graph.agents, compiled.contracts),
      effects: graph.effects,
      ingress: graph.ingress,
      contracts: compiled.contracts,
      consumers: graph.consumers,
      guards,
      ...rules,
      drift,
      ...(alerts === undefined ? {} : { alerts }),
    },
    warnings,
  };
}
