import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli, tempDir } from './run-cli.js';
import { call, startUp, type UpProcess, until } from './up-process.js';

// `POST /api/v1/replay` on a real `up` running the retention example: the same document as
// `meshwarden replay --json`, typed 4xx for a bad candidate, pilots only.

const MESH = join(REPO, 'examples', 'retention', 'mesh.yaml');
const CANDIDATE = readFileSync(join(REPO, 'examples', 'retention', 'candidate.yaml'), 'utf8');
const TICKETS = join(REPO, 'examples', 'retention', 'tickets.jsonl');

describe('POST /replay', () => {
  const data = join(tempDir('replay-api'), 'data');
  let up: UpProcess;
  let admin: string;
  let viewer: string;

  beforeAll(async () => {
    up = await startUp([MESH, '--data', data, '--input', TICKETS]);
    admin = up.token!;
    viewer = (await call(up, admin, 'POST', '/tokens', { name: 'viewer', role: 'viewer' })).body.token;
    await until(
      async () =>
        (await call(up, admin, 'GET', '/holds')).body.holds.some(
          (h: { stage: string }) => h.stage === 'loop',
        ),
      'the loop hold',
    );
  });

  afterAll(async () => {
    if (up !== undefined) expect(await up.stop()).toBe(0);
  });

  it('replays the running ledger against a candidate, as replay --json does', async () => {
    const res = await call(up, admin, 'POST', '/replay', { policy: CANDIDATE });
    expect(res.status).toBe(200);
    expect(res.body.sameAsRecorded).toBe(false);
    const change = res.body.changes.find(
      (c: { subject: string; type: string }) => c.subject === 'account:8841' && c.type === 'credit.issue',
    );
    expect(change).toMatchObject({
      recorded: { verdict: 'deliver' },
      candidate: { verdict: 'deny', stage: 'budget', rule: 'credit-per-account', reason: 'budget.exceeded' },
    });
    expect(res.body.effects.byType['credit.issue'].bySubject['account:8841']).toMatchObject({
      sums: { amount: 25 },
    });
    const same = await call(up, admin, 'POST', '/replay', { policy: readFileSync(MESH, 'utf8') });
    expect(same.body).toMatchObject({ changed: 0, suppressed: [], sameAsRecorded: true });
    const window = await call(up, admin, 'POST', '/replay', {
      policy: CANDIDATE,
      to: '1970-01-02T00:00:00Z',
    });
    expect(window.body).toMatchObject({ decisions: 0, to: 86_400_000 });
  });

  it('runs one replay at a time: another meanwhile is 409 MW_API_REPLAY_BUSY', async () => {
    const all = await Promise.all(
      Array.from({ length: 4 }, () => call(up, admin, 'POST', '/replay', { policy: CANDIDATE })),
    );
    expect(all.some((r) => r.status === 200)).toBe(true);
    for (const r of all) {
      if (r.status !== 200) expect([r.status, r.body.error.code]).toEqual([409, 'MW_API_REPLAY_BUSY']);
    }
  });

  it('takes the mesh file as it is, with from and to in the query', async () => {
    const res = await fetch(`${up.api}/replay?to=1970-01-02T00:00:00Z`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/yaml' },
      body: CANDIDATE,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ decisions: 0, to: 86_400_000 });
    const all = await fetch(`${up.api}/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/yaml' },
      body: CANDIDATE,
    });
    expect(((await all.json()) as { changed: number }).changed).toBeGreaterThan(0);
    const other = await fetch(`${up.api}/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/csv' },
      body: 'a,b',
    });
    expect(other.status).toBe(415);
    // A JSON body with a query beside it: refused, not answered as if the query were not there.
    const mixed = await fetch(`${up.api}/replay?from=garbage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ policy: CANDIDATE }),
    });
    expect(mixed.status).toBe(400);
    expect(((await mixed.json()) as { error: { code: string } }).error.code).toBe('MW_API_BAD_REQUEST');
    const badQuery = await fetch(`${up.api}/replay?from=garbage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/yaml' },
      body: CANDIDATE,
    });
    expect(badQuery.status).toBe(400);
    const deep = await call(up, admin, 'POST', '/replay', {
      policy: `mesh: retention\na: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`,
    });
    expect(deep.status).toBe(400);
    expect(deep.body.error.issues.map((i: { code: string }) => i.code)).toEqual(['MW_POLICY_TOO_DEEP']);
    expect(deep.body.error.issues[0].location).toMatch(/^candidate\.yaml:2:67$/);
    // A file that is not UTF-8 is refused naming its first bad byte, not read with U+FFFD in it.
    const notUtf8 = await fetch(`${up.api}/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/yaml' },
      body: Buffer.from([0xff, 0xfe, 0x6d]),
    });
    expect(notUtf8.status).toBe(400);
    expect(((await notUtf8.json()) as { error: { code: string } }).error.code).toBe('MW_API_BAD_REQUEST');
  });

  it('answers the CLI the same document', async () => {
    const api = await call(up, admin, 'POST', '/replay', { policy: CANDIDATE });
    const cli = await runCli([
      'replay',
      '--policy',
      join(REPO, 'examples', 'retention', 'candidate.yaml'),
      '--data',
      data,
      '--json',
    ]);
    expect(cli.code, cli.stderr).toBe(0);
    const fromCli = JSON.parse(cli.stdout);
    // Traffic settled before: the same decisions, changes and effects (the file names differ).
    expect(fromCli.matrix).toEqual(api.body.matrix);
    expect(fromCli.changes).toEqual(api.body.changes);
    expect(fromCli.effects).toEqual(api.body.effects);
  });

  it('refuses a bad candidate with a typed 400 naming file:line:col, never a 500', async () => {
    const bad = await call(up, admin, 'POST', '/replay', {
      policy: 'mesh: retention\nagents:\n  x: { version: 1 }\n',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('MW_API_CANDIDATE_INVALID');
    expect(bad.body.error.issues[0].location).toMatch(/^candidate\.yaml:\d+:\d+$/);
    const notYaml = await call(up, admin, 'POST', '/replay', { policy: ': : [' });
    expect(notYaml.status).toBe(400);
    // Files outside the running mesh's folder are not read, nor said to exist.
    const outside = await call(up, admin, 'POST', '/replay', {
      policy: CANDIDATE.replace('contracts: ./contracts', 'contracts: /etc').replace(
        './agents/churn.ts',
        '../../../../etc/passwd',
      ),
    });
    expect(outside.status).toBe(400);
    expect(outside.body.error.issues.map((i: { code: string }) => i.code)).toEqual([
      'MW_API_PATH_OUTSIDE',
      'MW_API_PATH_OUTSIDE',
    ]);
    expect(outside.body.error.issues[0].location).toMatch(/^candidate\.yaml:\d+:\d+$/);
    const other = await call(up, admin, 'POST', '/replay', { policy: 'mesh: other\nagents: {}\n' });
    expect(other.status).toBe(400);
    expect(other.body.error.code).toBe('MW_RUNTIME_REPLAY_MESH');
    const noPolicy = await call(up, admin, 'POST', '/replay', { from: '1' });
    expect(noPolicy.status).toBe(400);
    const badTime = await call(up, admin, 'POST', '/replay', { policy: CANDIDATE, from: 'yesterday' });
    expect(badTime.status).toBe(400);
    expect(badTime.body.error.code).toBe('MW_API_BAD_REQUEST');
    const reversed = await call(up, admin, 'POST', '/replay', {
      policy: CANDIDATE,
      from: '2027-01-01T00:00:00Z',
      to: '2026-01-01T00:00:00Z',
    });
    expect(reversed.status).toBe(400);
    expect(reversed.body.error.code).toBe('MW_API_BAD_REQUEST');
    const huge = await call(up, admin, 'POST', '/replay', { policy: `#${'x'.repeat(300 * 1024)}` });
    expect(huge.status).toBe(413);
  });

  it('needs a pilot', async () => {
    const res = await call(up, viewer, 'POST', '/replay', { policy: CANDIDATE });
    expect(res.status).toBe(403);
  });
});
