import { resolve } from 'node:path';
import type { MeshwardenError, OpenMeshResult } from '../../runtime/index.js';
import { formatPolicyIssue, loadPolicy, type PolicyIssue, toolSchemaReader } from '../../runtime/index.js';
import { cliError, EXIT } from '../errors.js';
import { type Output, terminalSafe } from '../output.js';
import { cliTransports } from '../transports.js';

/**
 * `policy check`: exit 0 when the mesh file is valid, 1 listing every mistake as file:line:col. An
 * MCP effect without a contract file takes its tool's input schema, so its server is reached (a
 * command is spawned) and closed again before the command ends.
 */
export async function checkPolicy(file: string, out: Output): Promise<number> {
  await using transports = cliTransports();
  const readToolSchema = toolSchemaReader(transports.list);
  const result = await loadPolicy(resolve(file), readToolSchema === undefined ? {} : { readToolSchema });
  if (!result.ok) {
    if (out.json) out.document({ ok: false, file, issues: result.issues });
    else printIssues(result.issues, out);
    return EXIT.failed;
  }
  const p = result.policy;
  if (out.json) {
    out.document({
      ok: true,
      file,
      mesh: p.mesh,
      digest: p.digest,
      agents: p.agents.size,
      effects: p.effects.size,
      warnings: result.warnings,
    });
  } else {
    for (const w of result.warnings) out.line(`warning: ${formatPolicyIssue(w)}`);
    const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
    out.line(
      `ok: mesh ${p.mesh}: ${count(p.agents.size, 'agent')}, ${count(p.effects.size, 'effect')}, ${count(p.contracts.size, 'contract')}`,
    );
    out.line(`policy digest ${p.digest}`);
  }
  return EXIT.ok;
}

function printIssues(issues: readonly PolicyIssue[], out: Output): void {
  for (const issue of issues) process.stdout.write(`${terminalSafe(formatPolicyIssue(issue))}\n`);
  out.note(`${issues.length} mistake${issues.length === 1 ? '' : 's'} in the policy`);
}

/** Explains why a mesh could not open; returns the exit code. */
export function reportOpenFailure(
  result: Extract<OpenMeshResult, { ok: false }>,
  file: string,
  out: Output,
): number {
  if (result.policyIssues !== undefined) {
    if (out.json) out.document({ ok: false, file, issues: result.policyIssues });
    else printIssues(result.policyIssues, out);
  } else {
    out.error(cliError('MW_CLI_MESH_FAILED', { file }));
    for (const err of result.errors ?? []) out.error(err);
    if (out.json)
      out.document({
        ok: false,
        file,
        errors: (result.errors ?? []).map(errorView),
      });
  }
  return EXIT.failed;
}

/** An open failure as --json shows it: its code and message, and where, as policy issues say it. */
function errorView(e: MeshwardenError) {
  const at = e.location;
  return {
    code: e.code,
    message: e.message,
    ...(at?.file === undefined ? {} : { file: at.file }),
    ...(at?.line === undefined ? {} : { line: at.line, col: at.col ?? 1 }),
    ...(at?.pointer === undefined ? {} : { pointer: at.pointer }),
  };
}
