import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareContracts } from './contract-changes.js';
import { heldTypeIssues } from './held-types.js';
import { loadPolicy } from './load.js';
import { POLICY_FILE_MAX_BYTES } from './policy-file.js';
import type { Policy } from './types.js';

/** A mesh with one ingress emitting `types`, each with the given schema, written to a temp folder. */
async function meshOf(schemas: Record<string, object>): Promise<Policy> {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-changes-'));
  mkdirSync(join(dir, 'contracts'));
  const types = Object.keys(schemas);
  const list = `[${types.join(', ')}]`;
  const agent = `  a: { version: 1.0.0, url: "https://a.example.com/agent", consumes: ${list} }`;
  writeFileSync(join(dir, 'mesh.yaml'), `mesh: m\nagents:\n${agent}\ningress:\n  in: { emits: ${list} }\n`);
  for (const [type, schema] of Object.entries(schemas))
    writeFileSync(join(dir, 'contracts', `${type}.json`), `${JSON.stringify(schema, null, 2)}\n`);
  const loaded = await loadPolicy(join(dir, 'mesh.yaml'));
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  return loaded.policy;
}

describe('compareContracts', () => {
  it('places a breaking change at its line and column in the new contract file', async () => {
    const old = await meshOf({ 'a.v1': { type: 'object', properties: { n: { type: 'number' } } } });
    const next = await meshOf({ 'a.v1': { type: 'object', properties: { n: { type: 'integer' } } } });
    const { changed, issues, warnings } = await compareContracts(old, next);
    expect(changed).toEqual(['a.v1']);
    expect(warnings).toEqual([]);
    expect(issues).toEqual([
      expect.objectContaining({
        code: 'MW_CONTRACT_BREAKING',
        file: join(next.file, '..', 'contracts', 'a.v1.json'),
        line: 5,
        col: 15,
        pointer: '/properties/n/type',
      }),
    ]);
    expect(issues[0]?.message).toContain('(a.v2)');
  });

  it('ignores a type only one side has, and an unchanged one, but lists those removed and added', async () => {
    const old = await meshOf({ 'a.v1': { type: 'object' }, 'b.v1': { type: 'string' } });
    const next = await meshOf({ 'a.v1': { type: 'object' }, 'b.v2': { type: 'number' } });
    expect(await compareContracts(old, next)).toEqual({
      changed: [],
      removed: ['b.v1'],
      added: ['b.v2'],
      issues: [],
      warnings: [],
    });
  });
});

describe('heldTypeIssues', () => {
  it('names each type the new policy drops while holds of it wait, with the count, at the key it would be under', async () => {
    const next = await meshOf({ 'a.v2': { type: 'object' }, 'b.v1': { type: 'object' } });
    const issues = await heldTypeIssues(next, [
      { type: 'a.v1', kind: 'message' },
      { type: 'b.v1', kind: 'message' },
      { type: 'a.v1', kind: 'message' },
      { type: 'pay.send', kind: 'effect' },
      // An effect of a name that is now a message type is gone all the same.
      { type: 'b.v1', kind: 'effect' },
    ]);
    expect(issues.map((i) => [i.code, i.pointer, i.line, i.col])).toEqual([
      ['MW_POLICY_HELD_TYPE_REMOVED', '/agents', 2, 1],
      ['MW_POLICY_HELD_TYPE_REMOVED', '/effects', 1, 1],
      ['MW_POLICY_HELD_TYPE_REMOVED', '/effects', 1, 1],
    ]);
    expect(issues[0]!.message).toContain('a.v1');
    expect(issues[0]!.message).toContain('2 holds');
    expect(issues[0]!.message).toContain('beside a.v2');
    expect(await heldTypeIssues(next, [{ type: 'b.v1', kind: 'message' }])).toEqual([]);
  });
});

describe('contract files as editors leave them', () => {
  /** A mesh with one type, a.v1, whose contract file `write` makes. */
  function meshWhere(write: (contract: string) => void): string {
    const dir = mkdtempSync(join(tmpdir(), 'meshwarden-files-'));
    mkdirSync(join(dir, 'contracts'));
    const agent = '  a: { version: 1.0.0, url: "https://a.example.com/agent", consumes: [a.v1] }';
    writeFileSync(join(dir, 'mesh.yaml'), `mesh: m\nagents:\n${agent}\ningress:\n  in: { emits: [a.v1] }\n`);
    write(join(dir, 'contracts', 'a.v1.json'));
    return join(dir, 'mesh.yaml');
  }

  it('reads a contract file that starts with a byte order mark, and places changes in it as without', async () => {
    const schema = (type: string) =>
      `{\n  "type": "object",\n  "properties": { "n": { "type": "${type}" } }\n}\n`;
    const old = await loadPolicy(meshWhere((f) => writeFileSync(f, `\uFEFF${schema('number')}`)));
    const next = await loadPolicy(meshWhere((f) => writeFileSync(f, `\uFEFF${schema('integer')}`)));
    if (!old.ok || !next.ok) throw new Error('a contract with a BOM does not load');
    const { issues } = await compareContracts(old.policy, next.policy);
    expect(issues.map((i) => [i.code, i.line, i.col])).toEqual([['MW_CONTRACT_BREAKING', 3, 34]]);
  });

  it('reads no contract file over the limit, nor one that is not a regular file', async () => {
    const big = await loadPolicy(
      meshWhere((f) =>
        writeFileSync(f, `{"type":"object","description":"${'x'.repeat(POLICY_FILE_MAX_BYTES)}"}`),
      ),
    );
    const device = await loadPolicy(meshWhere((f) => symlinkSync('/dev/zero', f)));
    for (const result of [big, device]) {
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.issues.map((i) => i.code)).toEqual(['MW_POLICY_MISSING_CONTRACT']);
    }
  });

  it('reads no mesh file over the limit, nor one that is not a regular file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshwarden-files-'));
    writeFileSync(join(dir, 'big.yaml'), `mesh: m\n# ${'x'.repeat(POLICY_FILE_MAX_BYTES)}\n`);
    symlinkSync('/dev/zero', join(dir, 'zero.yaml'));
    // A FIFO would wait for a writer if opened; bytes that are not UTF-8 are not read as U+FFFD.
    execFileSync('mkfifo', [join(dir, 'fifo.yaml')]);
    writeFileSync(join(dir, 'latin1.yaml'), Buffer.from('mesh: caf\xe9\n', 'latin1'));
    for (const name of ['big.yaml', 'zero.yaml', 'fifo.yaml', 'latin1.yaml']) {
      const result = await loadPolicy(join(dir, name));
      expect(result.ok ? [] : result.issues.map((i) => [i.code, i.line, i.col])).toEqual([
        ['MW_POLICY_READ', 1, 1],
      ]);
    }
  });

  it('says a directory where the contract file should be is a directory', async () => {
    const result = await loadPolicy(meshWhere((f) => mkdirSync(f)));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.code)).toEqual(['MW_POLICY_MISSING_CONTRACT']);
    expect(result.issues[0]!.message).toContain('a.v1.json is a directory, not a file');
  });
});
