import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../src/ledger/index.js';
import { tempPostgresSchemas } from '../src/ledger/postgres-test-kit.js';
import { ENTRY, openMesh } from '../src/runtime/index.js';
import { log, writeMesh } from '../src/runtime/test-kit.js';

// The runtime on a PostgreSQL ledger (`openMesh({ ledgerAt: 'postgres://…' })`), as issue 12's nodes
// will run it: the same mesh code, another adapter.
const freshSchema = tempPostgresSchemas();
const reasonOf = (e: LedgerEntry) => (e.data as { verdict: { reason: string } }).verdict.reason;

describe('a mesh on a PostgreSQL ledger', () => {
  it('records, refuses a duplicate id after a reopen, verifies and checkpoints', async () => {
    const dir = writeMesh(0);
    const at = freshSchema();
    const open = () =>
      openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log, ledgerAt: at.location });
    const id = '0190f2a0-0000-7000-8000-0000000000bb';
    const job = { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 }, id };
    {
      const opened = await open();
      if (!opened.ok) throw new Error(JSON.stringify(opened));
      await using o = opened.opened;
      expect(reasonOf(await o.mesh.inject('api', job))).toBe('gate.admitted');
      await o.mesh.idle();
    }
    const again = await open();
    if (!again.ok) throw new Error(JSON.stringify(again));
    await using o = again.opened;
    expect(reasonOf(await o.mesh.inject('api', job))).toBe('envelope.duplicate_id');
    expect(await o.ledger.verify()).toMatchObject({ ok: true });
    expect((await o.ledger.byCausation(id)).length).toBeGreaterThan(0);
    expect((await o.ledger.byMessage(id))[0]!.kind).toBe(ENTRY.decision);
    expect((await o.ledger.checkpoint()).origin).toBe('t');
  });

  it('returns an unreachable server as an error value', async () => {
    const dir = writeMesh(0);
    const opened = await openMesh({
      meshFile: join(dir, 'mesh.yaml'),
      dataDir: join(dir, 'data'),
      log,
      ledgerAt: 'postgres://mw:s3cret@127.0.0.1:1/test',
    });
    expect(opened.ok).toBe(false);
    if (!opened.ok) expect(opened.errors?.map((e) => e.code)).toEqual(['MW_LEDGER_IO']);
  });
});
