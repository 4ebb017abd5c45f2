// Tokens against a real `up`: who a token is, revoking one, and the rate limits per token and per address.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from './run-cli.js';
import { call, createTokens, startUp, type UpProcess } from './up-process.js';

const MESH = join(REPO, 'examples', 'retention', 'mesh.yaml');

describe('HTTP API tokens against a real `up` process', () => {
  const data = join(tempDir('api-tokens'), 'data');
  let up: UpProcess;
  let admin: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    up = await startUp([MESH, '--data', data, '--rate-limit', '60']);
    admin = up.token!;
    Object.assign(
      tokens,
      await createTokens(up, admin, { viewer: 'viewer', pilot: 'pilot', burst: 'viewer' }),
    );
  });

  afterAll(async () => {
    if (up !== undefined) expect(await up.stop()).toBe(0);
  });

  it('says who a token is (GET /session), to every role', async () => {
    expect((await call(up, tokens.viewer, 'GET', '/session')).body).toEqual({
      name: 'viewer',
      role: 'viewer',
    });
    expect((await call(up, tokens.pilot, 'GET', '/session')).body).toEqual({ name: 'pilot', role: 'pilot' });
    expect((await call(up, 'mw_not-a-token', 'GET', '/session')).status).toBe(401);
  });

  it('revokes a token', async () => {
    const created = await call(up, admin, 'POST', '/tokens', { name: 'temp', role: 'viewer' });
    expect((await call(up, admin, 'POST', '/tokens', { name: 'temp', role: 'viewer' })).status).toBe(409);
    const listed = (await call(up, admin, 'GET', '/tokens')).body.tokens;
    expect(JSON.stringify(listed)).not.toContain(created.body.token);
    expect((await call(up, admin, 'DELETE', '/tokens/temp')).status).toBe(204);
    const last = await call(up, admin, 'DELETE', '/tokens/admin');
    expect(last.status).toBe(409);
    expect(last.body.error.code).toBe('MW_API_LAST_ADMIN');
    expect((await call(up, created.body.token, 'GET', '/holds')).status).toBe(401);
  });

  it('limits calls with a wrong token per address, like calls without one', async () => {
    const replies = [];
    for (let i = 0; i < 61; i++) replies.push(await call(up, `mw_wrong-${i}`, 'GET', '/mesh'));
    // Earlier calls without a token from this address count too, so the limit comes at or before 61.
    expect(replies.at(-1)!.status).toBe(429);
    expect(replies.at(-1)!.body.error).toMatchObject({ code: 'MW_API_RATE_LIMITED', limited: 'address' });
    expect(new Set(replies.map((r) => r.status))).toEqual(new Set([401, 429]));
    // The liveness probe from that address still answers: a bad client must not get the warden restarted.
    expect((await fetch(`${up.url}/api/v1/health`)).status).toBe(200);
  });

  it('rate-limits per token', async () => {
    const replies = [];
    for (let i = 0; i < 61; i++) replies.push(await call(up, tokens.burst, 'GET', '/mesh'));
    expect(replies.slice(0, 60).every((r) => r.status === 200)).toBe(true);
    expect(replies.at(-1)!.status).toBe(429);
    expect(replies.at(-1)!.body.error).toMatchObject({ code: 'MW_API_RATE_LIMITED', limited: 'token' });
    // Another token is not affected.
    expect((await call(up, tokens.viewer, 'GET', '/mesh')).status).toBe(200);
  });
});
