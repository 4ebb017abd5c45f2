import { describe, expect, it } from 'vitest';
import { apiOverMesh } from './test-kit.js';

describe('GET /ledger while a verify reads', () => {
  it('says a verify is under way (since when, how far, of how many), then its outcome', async () => {
    const { opened, server, get } = await apiOverMesh('meshwarden-verifying-');
    await using _o = opened;
    await using _s = server;
    const before = (await get('/api/v1/ledger')).json();
    expect(before.verifying).toBeNull();
    expect(before.lastVerify).toBeNull();

    // `up` starts this one as it begins serving; GET /ledger reads this status meanwhile.
    const verifying = server.integrity.verify();
    const during = JSON.parse(JSON.stringify(await server.integrity.status()));
    expect(during.verifying).toMatchObject({ read: 0, total: before.entries });
    expect(Date.parse(during.verifying.startedAt)).not.toBeNaN();
    expect(during.lastVerify).toBeNull();

    await verifying;
    const after = (await get('/api/v1/ledger')).json();
    expect(after.verifying).toBeNull();
    expect(after.lastVerify).toMatchObject({ ok: true, entries: before.entries });
  });
});
