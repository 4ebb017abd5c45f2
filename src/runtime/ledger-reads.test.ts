import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../ledger/index.js';
import { openMesh } from './open.js';
import { ENTRY } from './records.js';

// The mesh reads its ledger through the async reader port: what that must not change.
const log = pino({ level: 'silent' });

function writeMesh(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-reads-'));
  mkdirSync(join(dir, 'contracts'));
  mkdirSync(join(dir, 'agents'));
  const yaml = [
    'mesh: t',
    'agents:',
    '  sink: { version: 1.0.0, module: ./agents/sink.mjs, consumes: [job.queued.v1] }',
    'ingress:',
    '  api: { emits: [job.queued.v1] }',
  ];
  writeFileSync(join(dir, 'mesh.yaml'), yaml.join('\n'));
  writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), JSON.stringify({ type: 'object' }));
  writeFileSync(join(dir, 'agents', 'sink.mjs'), 'export default { handle() {} };');
  return dir;
}

const reasonOf = (e: LedgerEntry) => (e.data as { verdict: { reason: string } }).verdict.reason;

describe('reads through the ledger reader', () => {
  it('keeps ingests and rejections in call order while one waits on its duplicate-id read', async () => {
    const dir = writeMesh();
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    const id = '0190f2a0-0000-7000-8000-0000000000aa';
    const job = (subject: string, extra = {}) => ({ type: 'job.queued.v1', subject, data: {}, ...extra });
    // Nothing awaited: the duplicate is found in the ledger, under an id of the warden's own.
    const calls = [
      o.mesh.inject('api', job('job:1', { id })),
      o.mesh.inject('api', job('job:2')),
      o.mesh.reject({ reason: 'ingress.bad_line', detail: 'not a message', raw: '{', location: 'in:1:1' }),
      o.mesh.inject('api', job('job:3', { id })),
    ];
    const entries = await Promise.all(calls);
    await o.mesh.idle();
    expect(entries.map((e) => e.seq)).toEqual([2, 3, 4, 5]); // after the policy.loaded entry
    expect(entries.map(reasonOf)).toEqual([
      'gate.admitted',
      'gate.admitted',
      'ingress.bad_line',
      'envelope.duplicate_id',
    ]);
    expect(entries[3]!.msgId).not.toBe(id);
    const named = await o.ledger.byMessage(id);
    expect(named.filter((e) => e.kind === ENTRY.decision).map((e) => e.subject)).toEqual(['job:1']);
  });

  it('refuses a ledger location no adapter serves, as an error value', async () => {
    const dir = writeMesh();
    const opened = await openMesh({
      meshFile: join(dir, 'mesh.yaml'),
      dataDir: join(dir, 'data'),
      log,
      ledgerAt: 'mysql://meshwarden@db.internal/ledger',
    });
    expect(opened.ok).toBe(false);
    if (!opened.ok) expect(opened.errors?.map((e) => e.code)).toEqual(['MW_LEDGER_LOCATION']);
  });
});
