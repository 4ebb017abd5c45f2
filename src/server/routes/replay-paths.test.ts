import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { outsideFiles } from './replay-paths.js';

// A candidate's files must stay inside the running mesh file's folder as the file system resolves
// them: real folders and real symbolic links in a temp folder.

const CANDIDATE = [
  'mesh: m',
  'agents:',
  '  a: { version: 1.0.0, module: ./agents/a.mjs, consumes: [job.queued.v1] }',
  'ingress:',
  '  api: { emits: [job.queued.v1] }',
  'contracts: ./contracts',
].join('\n');

function meshFolder(): { dir: string; elsewhere: string } {
  const root = mkdtempSync(join(tmpdir(), 'meshwarden-replay-paths-'));
  const dir = join(root, 'mesh');
  const elsewhere = join(root, 'elsewhere');
  for (const d of [dir, elsewhere]) mkdirSync(d);
  writeFileSync(join(elsewhere, 'a.mjs'), 'export default { handle() {} };');
  writeFileSync(join(elsewhere, 'job.queued.v1.json'), '{}');
  return { dir, elsewhere };
}

const codes = (dir: string, text = CANDIDATE) =>
  outsideFiles(join(dir, 'candidate.yaml'), text).map((i) => `${i.code} ${i.location}`);

describe('outsideFiles', () => {
  it('passes files inside the folder, and ones not there yet', () => {
    const { dir } = meshFolder();
    mkdirSync(join(dir, 'agents'));
    writeFileSync(join(dir, 'agents', 'a.mjs'), '');
    expect(codes(dir)).toEqual([]);
  });

  it('refuses symbolic links inside the folder that point out of it', () => {
    const { dir, elsewhere } = meshFolder();
    symlinkSync(elsewhere, join(dir, 'agents'));
    symlinkSync(elsewhere, join(dir, 'contracts'));
    expect(codes(dir)).toEqual([
      expect.stringMatching(/^MW_API_PATH_OUTSIDE candidate\.yaml:6:\d+$/),
      expect.stringMatching(/^MW_API_PATH_OUTSIDE candidate\.yaml:3:\d+$/),
    ]);
  });

  it('refuses a linked file, and passes a link that stays inside', () => {
    const { dir, elsewhere } = meshFolder();
    mkdirSync(join(dir, 'agents'));
    mkdirSync(join(dir, 'real-contracts'));
    symlinkSync(join(elsewhere, 'a.mjs'), join(dir, 'agents', 'a.mjs'));
    symlinkSync(join(dir, 'real-contracts'), join(dir, 'contracts'));
    expect(codes(dir)).toEqual([expect.stringMatching(/^MW_API_PATH_OUTSIDE candidate\.yaml:3:\d+$/)]);
  });

  it('refuses plain paths out of the folder', () => {
    const { dir } = meshFolder();
    const text = CANDIDATE.replace('./agents/a.mjs', '../elsewhere/a.mjs').replace('./contracts', '/etc');
    expect(codes(dir, text)).toHaveLength(2);
  });
});
