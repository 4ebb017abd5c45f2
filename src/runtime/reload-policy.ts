import { isMeshwardenError, type MeshwardenError } from '../envelope/index.js';
import {
  compareContracts,
  heldTypeIssues,
  type LoadPolicyOptions,
  loadPolicy,
  type Policy,
  type PolicyIssue,
  parseMesh,
  policyFileTextOrEmpty,
} from '../policy/index.js';
import { runtimeError } from './errors.js';
import type { Mesh } from './mesh.js';
import { loadModules } from './modules.js';
import { type Transport, toolSchemaReader } from './transports.js';

// A running mesh's policy read again and put in force (POST /api/v1/policy/reload, the console's
// reload): what open.ts opened, changed without a restart.

export type ReloadResult =
  | {
      readonly ok: true;
      readonly digest: string;
      readonly changed: boolean;
      /**
       * Contract changes the compatibility check could not prove compatible (MW_CONTRACT_UNPROVEN);
       * alert routes whose sink needs a restart before it is sent to (MW_RUNTIME_ALERT_SINK).
       */
      readonly warnings?: readonly PolicyIssue[];
    }
  | {
      readonly ok: false;
      readonly policyIssues?: readonly PolicyIssue[];
      readonly errors?: readonly MeshwardenError[];
    };

/**
 * Reads the running mesh's file again and, when it is valid and its modules load, puts it in force.
 * An unchanged file (same digest) changes nothing and records nothing; a breaking change to a
 * contract in force is refused (MW_CONTRACT_BREAKING, docs/policy.md). MCP effects without a
 * contract file read their tools' input schemas again, so a changed tool schema is a new policy.
 */
export async function reloadPolicy(mesh: Mesh, by?: string): Promise<ReloadResult> {
  const loaded = await loadPolicy(mesh.policy.file, readerOf(mesh.transports));
  if (!loaded.ok) return { ok: false, policyIssues: loaded.issues };
  if (loaded.policy.digest === mesh.policy.digest) {
    // Nothing to put in force, but a route that still cannot reach its sink is still said.
    const still = await unstartedSinkWarnings(mesh, loaded.policy);
    return {
      ok: true,
      digest: loaded.policy.digest,
      changed: false,
      ...(still.length > 0 ? { warnings: still } : {}),
    };
  }
  // A breaking change to a contract in force (same type name, so same major version) is refused
  // like a mistake in the file: senders written for it, and what waits in holds, would not pass.
  const contracts = await compareContracts(mesh.policy, loaded.policy);
  // A hold of a type the new file drops would be dead-lettered when approved (no executor, no consumer).
  const held = mesh.state.holds().map((h) => ({ type: h.envelope.type, kind: h.gated }));
  const issues = [...contracts.issues, ...(await heldTypeIssues(loaded.policy, held))];
  if (issues.length > 0) return { ok: false, policyIssues: issues };
  const modules = await loadModules(loaded.policy, mesh.transports);
  if (!modules.ok) return { ok: false, errors: modules.errors };
  const recorded = mesh.reload(loaded.policy, modules.modules, by);
  if (isMeshwardenError(recorded)) return { ok: false, errors: [recorded] };
  try {
    await recorded;
  } catch (err) {
    // The ledger refused `policy.loaded` (closed, or a commit failed): the old policy stays in force.
    if (isMeshwardenError(err)) return { ok: false, errors: [err] };
    throw err;
  }
  const warnings = [
    ...(loaded.warnings ?? []),
    ...contracts.warnings,
    ...(await unstartedSinkWarnings(mesh, loaded.policy)),
  ];
  return {
    ok: true,
    digest: loaded.policy.digest,
    changed: true,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/** MCP effects without a contract file take their tool's input schema, read through the transports. */
export function readerOf(transports: readonly Transport[]): LoadPolicyOptions {
  const readToolSchema = toolSchemaReader(transports);
  return readToolSchema === undefined ? {} : { readToolSchema };
}

/**
 * Routes now in force whose sink this process was not started with (or whose spec changed): sinks
 * and their secrets are read at start, so these alerts fail, as dead letters, until a restart. Said
 * at the route's `sink:` in the file, so the pilot who reloaded hears it now, not at the first alert.
 */
async function unstartedSinkWarnings(mesh: Mesh, policy: Policy): Promise<PolicyIssue[]> {
  const unstarted = mesh.unstartedSinks(policy);
  if (unstarted.length === 0) return [];
  const text = await policyFileTextOrEmpty(policy.file);
  const file = parseMesh({ file: policy.file, path: policy.file, text });
  return unstarted.map(({ index, route, sink }) => {
    const { line, col } = file.locate(['alerts', 'routes', index, 'sink']);
    const { code, message } = runtimeError('MW_RUNTIME_ALERT_SINK', { route, sink });
    return { code, file: policy.file, line, col, pointer: `/alerts/routes/${index}/sink`, message };
  });
}
