import {
  type CompatChange,
  compareSchemas,
  contractMessage,
  nextMajor,
  parsePointer,
} from '../contracts/index.js';
import { canonicalize } from '../envelope/index.js';
import { pathIn } from './check.js';
import { contractFileOf } from './files.js';
import type { PolicyIssue } from './issues.js';
import { policyFileTextOrEmpty, readPolicyFile } from './policy-file.js';
import { locateInJson, type Position, parseMesh, withoutBom } from './source.js';
import type { Policy } from './types.js';

/** What changed in the contracts of types that both policies have (same name, same major version). */
export type ContractChanges = {
  /** Types in both whose schema differs, sorted. A type only one policy has is no change. */
  readonly changed: readonly string[];
  /** Types only the old policy has, and only the new one has (a new major version, say), sorted. */
  readonly removed: readonly string[];
  readonly added: readonly string[];
  /** MW_CONTRACT_BREAKING, each in the new contract file (or at the MCP effect in the mesh file). */
  readonly issues: readonly PolicyIssue[];
  /** MW_CONTRACT_UNPROVEN: changes the check cannot reason about. Not a refusal. */
  readonly warnings: readonly PolicyIssue[];
};

/**
 * Compares the contracts of `next` with those of `old` (the policy in force, or an older mesh
 * file): every breaking change to a type's schema under the same name is an issue, at the line and
 * column of the new contract file where it breaks (found by reading that file again). Reads only
 * the files of types that changed.
 */
export async function compareContracts(old: Policy, next: Policy): Promise<ContractChanges> {
  const changed: string[] = [];
  const issues: PolicyIssue[] = [];
  const warnings: PolicyIssue[] = [];
  for (const [type, contract] of [...next.contracts].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const before = old.contracts.get(type);
    if (before === undefined || canonicalize(before.schema) === canonicalize(contract.schema)) continue;
    changed.push(type);
    const result = compareSchemas(before.schema, contract.schema);
    if (result.breaking.length === 0 && result.unproven.length === 0) continue;
    const place = await contractPlace(next, type);
    for (const [list, changes] of [
      [issues, result.breaking],
      [warnings, result.unproven],
    ] as const) {
      for (const c of changes) list.push(changeIssue(type, c, place));
    }
  }
  const only = (a: Policy, b: Policy) => [...a.contracts.keys()].filter((t) => !b.contracts.has(t)).sort();
  return { changed, removed: only(old, next), added: only(next, old), issues, warnings };
}

/** Where a type's contract is written: its file and a locator, or its MCP effect in the mesh file. */
export type ContractPlace = {
  readonly file: string;
  /** Line and column of a JSON pointer into the schema (the contract's own place when unknown). */
  readonly at: (pointer: string) => Position;
  /** The pointer is into a contract file (not the mesh file, for a tool's schema). */
  readonly inFile: boolean;
};

/** Finds a type's contract file and reads it to place pointers; I/O failures fall back to 1:1. */
export async function contractPlace(policy: Policy, type: string): Promise<ContractPlace> {
  const meshText = await policyFileTextOrEmpty(policy.file);
  const mesh = parseMesh({ file: policy.file, path: policy.file, text: meshText });
  const { file, absolute } = contractFileOf(mesh, type);
  const read = await readPolicyFile(absolute).catch(() => undefined);
  const text = read === undefined || !('text' in read) ? undefined : withoutBom(read.text);
  if (text !== undefined) {
    const locate = locateInJson(text);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    return { file, inFile: true, at: (pointer) => locate(pathIn(value, tokensOf(pointer))) };
  }
  // An MCP effect's contract is its tool's input schema: the effect in the mesh file is the place.
  const at = mesh.locate(['effects', type], 'key');
  return { file: policy.file, inFile: false, at: () => at };
}

function changeIssue(type: string, c: CompatChange, place: ContractPlace): PolicyIssue {
  const { line, col } = place.at(c.pointer);
  return {
    code: c.code,
    file: place.file,
    line,
    col,
    pointer: place.inFile ? c.pointer : '',
    message: contractMessage(c.code, { type, reason: c.message, next: nextMajor(type) }),
  };
}

function tokensOf(pointer: string): string[] {
  try {
    return parsePointer(pointer);
  } catch {
    return [];
  }
}
