// `up` as a process over time: its state across a restart, and a policy reload by an admin.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCli, tempDir } from './run-cli.js';
import { call, startUp, until } from './up-process.js';

const MESH = join(REPO, 'examples', 'retention', 'mesh.yaml');
const TICKETS = join(REPO, 'examples', 'retention', 'tickets.jsonl');

type Hold = { id: string; subject: string; stage: string; rule: string | null; gated: string };

describe('`up` across a restart', () => {
  it('keeps pilot freezes and held messages, and shuts down with an intact ledger', async () => {
    const data = join(tempDir('restart'), 'data');
    const first = await startUp([MESH, '--data', data, '--input', TICKETS]);
    const admin = first.token!;
    await until(async () => (await call(first, admin, 'GET', '/holds')).body.holds.length >= 2, 'holds');
    await call(first, admin, 'POST', '/freeze', { subject: 'account:7702', reason: 'audit' });
    const heldBefore = (await call(first, admin, 'GET', '/holds')).body.holds.map((h: Hold) => h.id).sort();
    expect(await first.stop()).toBe(0);
    expect(first.stderr()).toContain('stopped cleanly');

    const second = await startUp([MESH, '--data', data]);
    // The check at start (in the background, while it serves) says how it came out, not only that it began.
    await until(
      async () => /the ledger is intact: [\d,]+ entries verified/.test(second.stderr()),
      'the start-up verify’s outcome',
    );
    expect(second.stderr()).toContain('verifying the ledger');
    expect(second.token).toBeUndefined(); // the first token stays the only admin token, still valid
    const breakers = (await call(second, admin, 'GET', '/breakers')).body;
    expect(breakers.frozen).toEqual(expect.arrayContaining(['account:7702', 'account:8841']));
    const heldAfter = (await call(second, admin, 'GET', '/holds')).body.holds.map((h: Hold) => h.id).sort();
    expect(heldAfter).toEqual(heldBefore);
    expect(await second.stop()).toBe(0);
    const verify = await runCli(['audit', 'verify', '--data', data, '--json']);
    expect(verify.code).toBe(0);
  });
});

describe('policy reload (admin)', () => {
  it('puts an edited mesh file in force, refuses a broken one with its positions, and records both', async () => {
    const dir = tempDir('reload');
    cpSync(join(REPO, 'examples', 'retention'), dir, { recursive: true });
    const meshFile = join(dir, 'mesh.yaml');
    const up = await startUp([meshFile, '--data', join(dir, 'data')]);
    try {
      const admin = up.token!;
      const pilot = (await call(up, admin, 'POST', '/tokens', { name: 'pat', role: 'pilot' })).body.token;
      expect((await call(up, pilot, 'POST', '/policy/reload')).status).toBe(403);
      // It takes no body: members are refused, where they were ignored.
      const member = await call(up, admin, 'POST', '/policy/reload', { x: 1 });
      expect(member.status).toBe(400);
      expect(member.body.error).toMatchObject({ code: 'MW_API_BAD_REQUEST', pointer: '/x' });
      for (const other of ['"abc"', '5', 'true', '[]'])
        expect((await call(up, admin, 'POST', '/policy/reload', other)).status, other).toBe(400);
      expect((await call(up, admin, 'POST', '/policy/reload', {})).status).toBe(200);
      const before = (await call(up, admin, 'GET', '/policy')).body.digest;
      expect((await call(up, admin, 'POST', '/policy/reload')).body).toEqual({
        digest: before,
        changed: false,
      });

      // A smaller threshold: a 30 EUR credit now needs a pilot.
      const original = readFileSync(meshFile, 'utf8');
      writeFileSync(meshFile, original.replace('msg.data.amount > 50', 'msg.data.amount > 20'));
      const reloaded = await call(up, admin, 'POST', '/policy/reload');
      expect(reloaded.body.changed).toBe(true);
      expect((await call(up, admin, 'GET', '/policy')).body.digest).toBe(reloaded.body.digest);

      writeFileSync(meshFile, `${original}\nbudgets: [ { id: x } ]\n`);
      const broken = await call(up, admin, 'POST', '/policy/reload');
      expect(broken.status).toBe(400);
      expect(broken.body.error.code).toBe('MW_API_POLICY_INVALID');
      expect(broken.body.error.issues[0].location).toMatch(/mesh\.yaml:\d+:\d+$/);
      expect((await call(up, admin, 'GET', '/policy')).body.digest).toBe(reloaded.body.digest);

      // Another mesh's file: refused at its name.
      const line = original.split('\n').findIndex((l) => l.startsWith('mesh:')) + 1;
      writeFileSync(meshFile, original.replace(/^mesh: retention$/m, 'mesh: other'));
      const other = await call(up, admin, 'POST', '/policy/reload');
      expect(other.status).toBe(400);
      expect(other.body.error.issues).toEqual([
        { code: 'MW_RUNTIME_RELOAD', location: `${meshFile}:${line}:7`, message: expect.any(String) },
      ]);
    } finally {
      expect(await up.stop()).toBe(0);
    }
    const exported = await runCli(['audit', 'export', '--data', join(dir, 'data')]);
    const loaded = exported.stdout.split('\n').filter((line) => line.includes('"kind":"policy.loaded"'));
    expect(loaded).toHaveLength(2);
  });
});
