import { resolve } from 'node:path';
import { createAlertSinks } from '../../interop/index.js';
import type { MeshwardenError, OpenMeshResult, PayloadCheck } from '../../runtime/index.js';
import { formatPolicyIssue, loadPolicy, type PolicyIssue, toolSchemaReader } from '../../runtime/index.js';
import { cliError, EXIT } from '../errors.js';
import { type Output, terminalSafe } from '../output.js';
import { cliTransports } from '../transports.js';
import { type CompatOptions, checkCompatibility } from './policy-compat.js';

/**
 * `policy check`: exit 0 when the mesh file is valid, 1 listing every mistake as file:line:col. An
 * MCP effect without a contract file takes its tool's input schema, so its server is reached (a
 * command is spawned) and closed again before the command ends.
 */
export async function checkPolicy(file: string, out: Output, compat: CompatOptions = {}): Promise<number> {
  await using transports = cliTransports();
  const readToolSchema = toolSchemaReader(transports.list);
  const load = readToolSchema === undefined ? {} : { readToolSchema };
  const result = await loadPolicy(resolve(file), load);
  if (!result.ok) {
    const warnings = result.warnings ?? [];
    if (out.json) out.document({ ok: false, file, issues: result.issues, warnings });
    else {
      for (const w of warnings) out.line(`warning: ${formatPolicyIssue(w)}`);
      printIssues(result.issues, out);
    }
    if (compat.against !== undefined)
      out.note(`the contracts were not compared with ${compat.against}: ${file} does not load`);
    return EXIT.failed;
  }
  const p = result.policy;
  const checked =
    compat.against === undefined && compat.data === undefined
      ? { issues: [], warnings: [], json: {} }
      : await checkCompatibility(p, compat, load, out);
  if ('code' in checked) {
    // The --against file does not load: its mistakes fail the check, and the block says whose they are.
    const { against } = checked;
    if (against !== undefined) {
      if (out.json)
        out.document({ ok: false, file, issues: against.issues, warnings: result.warnings, against });
      else printIssues(against.issues, out);
    }
    return checked.code;
  }
  const warnings = [...result.warnings, ...checked.warnings];
  const environment = unsetSecrets(p);
  if (checked.issues.length > 0) {
    if (out.json) out.document({ ok: false, file, issues: checked.issues, warnings, ...checked.json });
    else {
      for (const w of warnings) out.line(`warning: ${formatPolicyIssue(w)}`);
      printIssues(checked.issues, out);
      printRejected(checked.json.data, out);
    }
    return EXIT.failed;
  }
  if (out.json) {
    out.document({
      ok: true,
      file,
      mesh: p.mesh,
      digest: p.digest,
      agents: p.agents.size,
      effects: p.effects.size,
      issues: [],
      warnings,
      ...(environment.length === 0 ? {} : { environment }),
      ...checked.json,
    });
  } else {
    for (const w of warnings) out.line(`warning: ${formatPolicyIssue(w)}`);
    for (const e of environment) out.line(`warning: ${e.code}: ${e.message}`);
    compatSummary(checked.json, out);
    out.line(
      `ok: mesh ${p.mesh}: ${plural(p.agents.size, 'agent')}, ${plural(p.effects.size, 'effect')}, ${plural(p.contracts.size, 'contract')}`,
    );
    out.line(`policy digest ${p.digest}`);
  }
  return EXIT.ok;
}

/**
 * What the file is fine without and `up` and `run` are not: an alert sink's secret or URL read from
 * an environment variable that is not set here (or not a URL). Said, not failed: the check may run
 * where the secrets are not (a CI job), and the warden where they are.
 */
function unsetSecrets(p: { readonly alerts?: { readonly sinks: Parameters<typeof createAlertSinks>[0] } }) {
  if (p.alerts === undefined) return [];
  const made = createAlertSinks(p.alerts.sinks);
  if (!Array.isArray(made)) return [];
  return (made as readonly MeshwardenError[]).map((e) => ({
    code: e.code,
    message: `${e.message} (up and run refuse to start until it is)`,
  }));
}

/** With --against and --data, one line each on what was compared and read. */
function compatSummary(json: Record<string, unknown>, out: Output): void {
  const against = json.against as
    | { file: string; changed: string[]; removed: string[]; added: string[] }
    | undefined;
  if (against !== undefined) out.line(`contracts since ${against.file}: ${contractsLine(against)}`);
  const data = json.data as
    | { entries: number; delivered: number; types: Record<string, { checked: number }> }
    | undefined;
  if (data !== undefined) {
    const payloads = Object.values(data.types).reduce((n, t) => n + t.checked, 0);
    const types = Object.keys(data.types);
    const read = `${data.entries} ledger entries read`;
    if (against === undefined)
      out.line(`recorded payloads: ${payloads} delivered, all accepted by the new contracts (${read})`);
    else if (types.length === 0)
      out.line(
        `recorded payloads: no contract changed, so none needed checking (${data.delivered} delivered, ${read})`,
      );
    else
      out.line(
        `recorded payloads: ${payloads} delivered of ${types.join(', ')}, all accepted by the new contracts (${data.delivered} delivered in all, ${read})`,
      );
  }
}

/** `credit.issue removed; credit.issue.v2 added: a new type, nothing to compare`, or `none changed`. */
function contractsLine(a: { changed: string[]; removed: string[]; added: string[] }): string {
  const parts: string[] = [];
  if (a.changed.length > 0) parts.push(`${a.changed.join(', ')} changed, with no breaking change found`);
  if (a.removed.length > 0) parts.push(`${a.removed.join(', ')} removed`);
  if (a.added.length > 0)
    parts.push(
      `${a.added.join(', ')} added: ${a.added.length === 1 ? 'a new type' : 'new types'}, nothing to compare`,
    );
  return parts.length === 0 ? 'none changed' : parts.join('; ');
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** Under the issues, the first rejected message ids of each type, for `why`. */
function printRejected(data: unknown, out: Output): void {
  const types = (data as { types?: Record<string, PayloadCheck> } | undefined)?.types ?? {};
  for (const [type, t] of Object.entries(types)) {
    if (t.rejected === 0) continue;
    out.line(`${type}: ${t.rejected} of ${t.checked} recorded, delivered payloads rejected; the first:`);
    for (const r of t.first)
      out.line(`  ${r.id} at ${r.pointer || '/'}: ${r.message} (schema ${r.schemaPointer})`);
  }
}

function printIssues(issues: readonly PolicyIssue[], out: Output): void {
  for (const issue of issues) process.stdout.write(`${terminalSafe(formatPolicyIssue(issue))}\n`);
  out.note(`${issues.length} mistake${issues.length === 1 ? '' : 's'} in the policy`);
}

/** Says on stderr what `policy check` would warn of in the file a mesh opened with (run, up). */
export function reportOpenWarnings(result: Extract<OpenMeshResult, { ok: true }>, out: Output): void {
  for (const w of result.warnings ?? []) out.note(`warning: ${formatPolicyIssue(w)}`);
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
