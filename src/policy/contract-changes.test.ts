import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareContracts } from './contract-changes.js';
import { loadPolicy } from './load.js';
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

  it('ignores a type only one side has, and an unchanged one', async () => {
    const old = await meshOf({ 'a.v1': { type: 'object' }, 'b.v1': { type: 'string' } });
    const next = await meshOf({ 'a.v1': { type: 'object' }, 'b.v2': { type: 'number' } });
    expect(await compareContracts(old, next)).toEqual({ changed: [], issues: [], warnings: [] });
  });
});
