import { describe, expect, it } from 'vitest';
import type { VerifyRunning } from './integrity.js';
import { apiOverMesh } from './test-kit.js';

describe('GET /ledger while a verify reads', () => {
  it('says a verify is under way (since when, how far, of how many), runs one at a time, then says its outcome', async () => {
    const { opened, server, get } = await apiOverMesh('meshwarden-verifying-');
    await using _o = opened;
    await using _s = server;
    // Enough entries for the verify to read many pages, and to tell its progress twice (every 65,536).
    for (let i = 0; i < 140; i++) {
      const records = Array.from({ length: 1_000 }, (_, j) => ({
        kind: 'delivered',
        at: 1_732_000_000_000,
        msgId: `m${i}-${j}`,
        data: {},
      }));
      await opened.ledger.appendAll(records);
    }
    const before = (await get('/api/v1/ledger')).json();
    expect(before.verifying).toBeNull();
    expect(before.lastVerify).toBeNull();

    const seen: (VerifyRunning | null)[] = [];
    const reads: Promise<void>[] = [];
    // `up` starts this one as it begins serving; the API answers meanwhile.
    const verifying = server.integrity.verify(() => {
      reads.push(server.integrity.status().then((s) => void seen.push(s.verifying)));
    });
    const during = (await get('/api/v1/ledger')).json();
    expect(during.verifying).toMatchObject({ total: before.entries });
    expect(Date.parse(during.verifying.startedAt)).not.toBeNaN();
    expect(during.lastVerify).toBeNull();
    // A second verify meanwhile (a pilot's) gets the running one's outcome, not a second read.
    const again = server.integrity.verify();

    const [first, second] = await Promise.all([verifying, again]);
    await Promise.all(reads);
    expect(second).toBe(first);
    expect(seen.map((s) => s?.read)).toEqual([65_536, 131_072]);
    const after = (await get('/api/v1/ledger')).json();
    expect(after.verifying).toBeNull();
    expect(after.lastVerify).toMatchObject({ ok: true, entries: before.entries });
  });
});
