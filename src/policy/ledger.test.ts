import { describe, expect, it } from 'vitest';
import { BASE, compileLines, policyOf } from './test-kit.js';

describe('ledger: { durability }', () => {
  it.each([
    ['absent', [], 'full'],
    ['ledger without durability', ['ledger: {}'], 'full'],
    ['full', ['ledger: { durability: full }'], 'full'],
    ['normal', ['ledger:', '  durability: normal'], 'normal'],
  ] as const)('%s compiles to %s', (_name, extra, durability) => {
    expect(policyOf([...BASE, ...extra]).ledger).toEqual({ durability });
  });

  it.each([
    ['a value that is not a mode', ['ledger: { durability: fsync }'], 'MW_POLICY_BAD_VALUE', 9, 'fsync'],
    ['a misspelt key', ['ledger:', '  durablity: full'], 'MW_POLICY_UNKNOWN_KEY', 10, 'durablity'],
    ['ledger as text', ['ledger: full'], 'MW_POLICY_TYPE', 9, 'full'],
    ['durability as a boolean', ['ledger: { durability: true }'], 'MW_POLICY_BAD_VALUE', 9, 'true'],
  ] as const)('%s is a mistake at file:line:col', (_name, extra, code, line, needle) => {
    const lines = [...BASE, ...extra];
    const result = compileLines(lines);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const col = lines[line - 1]!.indexOf(needle) + 1;
    expect(result.issues.map((i) => [i.code, i.file, i.line, i.col])).toEqual([
      [code, 'mesh.yaml', line, col],
    ]);
  });

  it('changes the digest: the policy as written is what is recorded', () => {
    expect(policyOf([...BASE, 'ledger: { durability: normal }']).digest).not.toBe(policyOf(BASE).digest);
  });
});
