import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './run-cli.js';

describe('audit', () => {
  let data: string;
  beforeEach(async () => {
    data = join(tempDir('audit'), 'data');
    const run = await runCli(['demo', 'retention', '--data', data, '--json']);
    expect(run.code, run.stderr).toBe(0);
  });

  const sql = (statement: string) => {
    const db = new DatabaseSync(join(data, 'ledger.db'));
    db.exec(statement);
    db.close();
  };

  it.each([['checkpoint'], ['export']])(
    'refuses an --out it cannot write before %s does anything: a typed line, no stack, nothing stored',
    async (command) => {
      const before = await runCli(['audit', 'verify', '--data', data, '--json']);
      const r = await runCli(['audit', command, '--data', data, '--out', join(data, 'no', 'such', 'x.json')]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^error MW_CLI_OUT_FILE: cannot write output file /);
      expect(r.stderr).not.toContain('    at ');
      const after = await runCli(['audit', 'verify', '--data', data, '--json']);
      expect(JSON.parse(after.stdout).checkpoints).toBe(JSON.parse(before.stdout).checkpoints);
    },
  );

  it('says which key signed, made now or not, and names the signing keys of what it verified', async () => {
    const first = await runCli(['audit', 'checkpoint', '--data', data]);
    expect(first.code, first.stderr).toBe(0);
    const key = /signed with (a new key, made now in|the key in) (\S+) \(key (sha256:[0-9a-f]{64})\)/;
    const [, made, file, fingerprint] = key.exec(first.stderr) ?? [];
    expect(file).toBe(join(data, 'ledger.key'));
    // The demo took no checkpoint: this one made the key.
    expect(made).toBe('a new key, made now in');
    const second = await runCli(['audit', 'checkpoint', '--data', data]);
    expect(key.exec(second.stderr)?.slice(1)).toEqual(['the key in', file, fingerprint]);
    // The same checkpoint given again is one checkpoint, signed by that one key.
    const exported = join(tempDir('cp'), 'checkpoint.json');
    writeFileSync(exported, second.stdout);
    const r = await runCli(['audit', 'verify', '--data', data, '--checkpoint', exported, '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      checkpoints: 2,
      signedBy: [{ key: fingerprint, checkpoints: 2 }],
    });
    expect(JSON.parse(r.stdout).checkpointKey).toBe(fingerprint);
    const text = await runCli(['audit', 'verify', '--data', data, '--checkpoint', exported]);
    expect(text.stdout).toContain(`signed by key ${fingerprint}: 2 checkpoint(s)`);
    expect(text.stdout).toContain(`${exported} was signed by key ${fingerprint}`);
  });

  it('says of a checkpoint file changed after it was signed that the file is bad, not the ledger', async () => {
    const cp = await runCli(['audit', 'checkpoint', '--data', data]);
    const changed = JSON.parse(cp.stdout) as { at: number };
    const file = join(tempDir('cp'), 'changed.json');
    writeFileSync(file, JSON.stringify({ ...changed, at: changed.at + 1 }));
    const r = await runCli(['audit', 'verify', '--data', data, '--checkpoint', file, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, problem: 'bad-signature', file });
    const text = await runCli(['audit', 'verify', '--data', data, '--checkpoint', file]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`TAMPERED: bad-signature in the checkpoint file ${file}`);
    expect(text.stdout).toContain('the ledger was not read');
  });

  it('detects a deleted row and names where the chain breaks', async () => {
    sql('DELETE FROM entries WHERE seq = 10');
    const r = await runCli(['audit', 'verify', '--data', data, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, problem: 'sequence-gap', seq: 10 });
    const text = await runCli(['audit', 'verify', '--data', data]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('TAMPERED');
  });

  it('detects a tail cut after a checkpoint was exported', async () => {
    const cp = await runCli(['audit', 'checkpoint', '--data', data]);
    expect(cp.code, cp.stderr).toBe(0);
    const exported = join(tempDir('cp'), 'checkpoint.json');
    writeFileSync(exported, cp.stdout);
    const checkpoint = JSON.parse(cp.stdout) as { origin: string; partitions: { size: number }[] };
    // The runtime recorded the mesh name in the ledger; the CLI signs with it.
    expect(checkpoint.origin).toBe('retention');
    const size = checkpoint.partitions[0]!.size;
    // The attacker cuts the tail and removes the stored checkpoints too; the exported copy remains.
    sql(`DELETE FROM entries WHERE seq > ${size - 3}; DELETE FROM checkpoints;`);
    const r = await runCli(['audit', 'verify', '--data', data, '--checkpoint', exported, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, problem: 'truncated' });
  });

  it('detects a cut tail against the stored checkpoint', async () => {
    const cp = await runCli(['audit', 'checkpoint', '--data', data]);
    expect(cp.code).toBe(0);
    sql('DELETE FROM entries WHERE seq = (SELECT max(seq) FROM entries)');
    const r = await runCli(['audit', 'verify', '--data', data, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).problem).toBe('truncated');
  });

  it('is a usage error without a ledger', async () => {
    const r = await runCli(['audit', 'verify', '--data', join(tempDir('none'), 'missing')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MW_CLI_NO_LEDGER');
  });
});

describe('audit export and checkpoint errors', () => {
  it.each([['export'], ['checkpoint']])(
    'audit %s writes its error to stderr only, never to stdout or --out',
    async (command) => {
      const dir = tempDir('audit-error');
      const out = join(dir, 'out.jsonl');
      for (const extra of [[], ['--out', out]]) {
        const r = await runCli(['audit', command, '--data', join(dir, 'none'), ...extra]);
        expect(r.code).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(/^error MW_CLI_NO_LEDGER: /);
      }
      expect(existsSync(out)).toBe(false);
    },
  );
});

describe('a missing ledger named by --ledger', () => {
  it('says to check --ledger, not to run a mesh with --data', async () => {
    const file = join(tempDir('no-ledger-at'), 'nonexistent.db');
    const r = await runCli(['why', 'x', '--ledger', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error MW_CLI_NO_LEDGER: /);
    expect(r.stderr).toContain('--ledger');
    expect(r.stderr).not.toContain('--data');
  });

  it.each([
    ['a file: URL', (file: string) => pathToFileURL(file).href],
    ['file: and a path relative to the working directory', () => 'file:nonexistent.db'],
  ])('is MW_CLI_NO_LEDGER for %s too, and makes no file there', async (_, locate) => {
    const cwd = tempDir('no-ledger-url-at');
    const file = join(cwd, 'nonexistent.db');
    for (const command of [
      ['why', 'x'],
      ['impact', 'x'],
      ['audit', 'verify'],
    ]) {
      const r = await runCli([...command, '--ledger', locate(file)], { cwd });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error MW_CLI_NO_LEDGER: /);
    }
    expect(existsSync(file)).toBe(false);
  });

  it('tells `why` to read from the running mesh that MESHWARDEN_URL names, which it does not read unasked', async () => {
    const cwd = tempDir('no-ledger-url');
    const r = await runCli(['why', 'x'], { cwd, env: { MESHWARDEN_URL: 'http://127.0.0.1:7077' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error MW_CLI_NO_LEDGER: /);
    expect(r.stderr).toContain('--url http://127.0.0.1:7077');
  });
});
