import { resolve } from 'node:path';
import {
  checkRecordedPayloads,
  compareContracts,
  heldTypeIssues,
  type LoadPolicyOptions,
  loadPolicy,
  type PayloadCheck,
  type Policy,
  type PolicyIssue,
  payloadIssues,
} from '../../runtime/index.js';
import { EXIT } from '../errors.js';
import { type LedgerPlace, openExistingLedger } from '../ledger-access.js';
import type { Output } from '../output.js';

/** `policy check --against OLD` and `--data DIR`: what the mesh file's contracts would break. */
export type CompatOptions = {
  readonly against?: string;
  readonly data?: LedgerPlace;
};

export type CompatReport = {
  readonly issues: readonly PolicyIssue[];
  readonly warnings: readonly PolicyIssue[];
  /** Extra fields of `policy check --json` (added, never renamed: docs/cli.md). */
  readonly json: Record<string, unknown>;
};

/** Why the comparison could not run: its exit code, and for an --against file that does not load, its issues. */
export type CompatFailure = {
  readonly code: number;
  readonly against?: { readonly file: string; readonly ok: false; readonly issues: readonly PolicyIssue[] };
};

/**
 * Compares the new policy's contracts with the old file's (types in both, same major version), then
 * validates recorded, delivered payloads against the new contracts: those of the types that
 * changed with `--against`, of every type without it. Returns an exit code when it cannot run.
 */
export async function checkCompatibility(
  policy: Policy,
  opts: CompatOptions,
  load: LoadPolicyOptions,
  out: Output,
): Promise<CompatReport | CompatFailure> {
  const issues: PolicyIssue[] = [];
  const warnings: PolicyIssue[] = [];
  const json: Record<string, unknown> = {};
  let types: Policy['contracts'] = policy.contracts;
  if (opts.against !== undefined) {
    const old = await loadPolicy(resolve(opts.against), load);
    if (!old.ok) {
      out.note(`the --against file ${opts.against} does not load, so there is nothing to compare with`);
      return { code: EXIT.failed, against: { file: opts.against, ok: false, issues: old.issues } };
    }
    const changes = await compareContracts(old.policy, policy);
    issues.push(...changes.issues);
    warnings.push(...changes.warnings);
    json.against = {
      file: opts.against,
      changed: changes.changed,
      removed: changes.removed,
      added: changes.added,
      breaking: changes.issues.length,
      unproven: changes.warnings.length,
    };
    types = new Map(changes.changed.map((t) => [t, policy.contracts.get(t)!]));
  }
  if (opts.data !== undefined) {
    const ledger = await openExistingLedger(opts.data, out);
    if (ledger === undefined) return { code: EXIT.usage };
    await using _ledger = ledger;
    const started = performance.now();
    const checked = await checkRecordedPayloads(ledger, types, {
      progress: (n) => out.note(`read ${n} ledger entries…`),
    });
    if (performance.now() - started > 2000) out.note(`read ${checked.entries} ledger entries`);
    issues.push(...(await payloadIssues(policy, checked.types)));
    // Holds the ledger shows unanswered, of a type the new file drops: a reload would refuse it.
    warnings.push(...(await heldTypeIssues(policy, checked.open)));
    json.data = {
      dir: opts.data.data,
      entries: checked.entries,
      delivered: checked.delivered,
      types: Object.fromEntries([...checked.types].map(([t, c]) => [t, payloadView(c)])),
    };
  }
  return { issues, warnings, json };
}

function payloadView(c: PayloadCheck) {
  return { checked: c.checked, rejected: c.rejected, first: c.first };
}
