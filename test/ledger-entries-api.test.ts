import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from './run-cli.js';
import { call, startUp, type UpProcess, until } from './up-process.js';

const MESH = join(REPO, 'examples', 'retention', 'mesh.yaml');
const TICKETS = join(REPO, 'examples', 'retention', 'tickets.jsonl');

describe('GET /ledger/entries and the policy’s guards', () => {
  let up: UpProcess;
  let admin: string;

  beforeAll(async () => {
    up = await startUp([MESH, '--data', join(tempDir('ledger-entries'), 'data'), '--input', TICKETS]);
    admin = up.token!;
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

  it('pages one partition newest first, every entry once, down to the first', async () => {
    const size = (await call(up, admin, 'GET', '/ledger')).body.heads[0].size as number;
    const seen: number[] = [];
    let before: number | null = size + 1;
    while (before !== null) {
      const page = await call(up, admin, 'GET', `/ledger/entries?limit=7&before=${before}`);
      expect(page.status).toBe(200);
      expect(page.body.partition).toBe(0);
      expect(page.body.size).toBeGreaterThanOrEqual(size);
      seen.push(...page.body.entries.map((e: { seq: number }) => e.seq));
      before = page.body.next;
    }
    expect(seen).toEqual(Array.from({ length: size }, (_, i) => size - i));
    const first = (await call(up, admin, 'GET', '/ledger/entries?limit=1')).body.entries[0];
    expect(first).toMatchObject({
      partition: 0,
      kind: expect.any(String),
      hash: expect.stringMatching(/^sha256:/),
    });
    const decision = (await call(up, admin, 'GET', '/ledger/entries?limit=200')).body.entries.find(
      (e: { kind: string }) => e.kind === 'decision',
    );
    expect(decision).toMatchObject({
      msgId: expect.any(String),
      decision: expect.any(String),
      reason: expect.any(String),
    });
  });

  it.each([
    ['partition=1', '/partition'],
    ['limit=0', '/limit'],
    ['limit=201', '/limit'],
    ['limit=ten', '/limit'],
    ['before=-3', '/before'],
    ['page=2', '/page'],
  ])('refuses ?%s with a typed error pointing at %s', async (query, pointer) => {
    const reply = await call(up, admin, 'GET', `/ledger/entries?${query}`);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: 'MW_API_BAD_REQUEST', pointer });
    expect(reply.body.error.message).not.toContain('pattern');
  });

  it('says what a value must be in words, and what was given', async () => {
    const reply = await call(up, admin, 'GET', '/ledger/entries?limit=ten');
    expect(reply.body.error.message).toBe(
      'the querystring is invalid at /limit: limit must be a whole number, not "ten"',
    );
    const token = await call(up, admin, 'POST', '/tokens', { name: 'Bad Name', role: 'viewer' });
    expect(token.status).toBe(400);
    expect(token.body.error.message).toContain('name must be 1 to 64 lower-case letters');
    expect(token.body.error.message).toContain('not "Bad Name"');
  });

  it('needs a token, like every read, and a viewer’s will do', async () => {
    expect((await call(up, undefined, 'GET', '/ledger/entries')).status).toBe(401);
    const viewer = await call(up, admin, 'POST', '/tokens', { name: 'vic', role: 'viewer' });
    expect(viewer.status).toBe(201);
    const page = await call(up, viewer.body.token, 'GET', '/ledger/entries?limit=1');
    expect(page.status).toBe(200);
    expect(page.body.entries).toHaveLength(1);
  });

  it.each([0, 1])('answers ?before=%i with no entries and no next page', async (before) => {
    const page = await call(up, admin, 'GET', `/ledger/entries?before=${before}`);
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ partition: 0, entries: [], next: null });
    expect(page.body.size).toBeGreaterThan(0);
  });

  it('GET /policy names the loop guard and the breakers as mesh.yaml has them', async () => {
    const policy = (await call(up, admin, 'GET', '/policy')).body;
    expect(policy.partitions).toBe(1);
    expect(policy.guards.loop).toMatchObject({ maxHops: 8, maxRepeats: 1, action: 'freeze' });
    expect(policy.breakers).toEqual([
      {
        id: 'credit-burst',
        scope: 'entity',
        count: 'credit.issue',
        over: 2,
        windowMs: 3_600_000,
        action: 'freeze',
      },
    ]);
  });
});

describe('GET /ledger/entries of a partition that holds nothing', () => {
  let up: UpProcess;

  beforeAll(async () => {
    // Two partitions and no traffic: the policy's entry lands in partition 0, partition 1 stays empty.
    const dir = tempDir('ledger-entries-empty');
    mkdirSync(join(dir, 'contracts'));
    writeFileSync(
      join(dir, 'mesh.yaml'),
      [
        'mesh: quiet',
        'partitions: 2',
        'agents:',
        '  worker: { version: 1.0.0, module: ./worker.mjs, consumes: [job.queued.v1] }',
        'ingress:',
        '  api: { emits: [job.queued.v1] }',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), '{ "type": "object" }');
    writeFileSync(join(dir, 'worker.mjs'), 'export default { handle() {} };');
    up = await startUp([join(dir, 'mesh.yaml'), '--data', join(dir, 'data')]);
  });

  afterAll(async () => {
    if (up !== undefined) expect(await up.stop()).toBe(0);
  });

  it('answers no entries and no next page, and the policy names both partitions', async () => {
    expect((await call(up, up.token, 'GET', '/policy')).body.partitions).toBe(2);
    const page = await call(up, up.token, 'GET', '/ledger/entries?partition=1');
    expect(page.status).toBe(200);
    expect(page.body).toEqual({ partition: 1, size: 0, entries: [], next: null });
    expect((await call(up, up.token, 'GET', '/ledger/entries?partition=2')).status).toBe(400);
  });
});
