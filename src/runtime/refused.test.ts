import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../ledger/index.js';
import { PREFIX_BYTES } from './evidence.js';
import { impactOf, whyChain } from './lineage.js';
import { openMesh } from './open.js';

const log = pino({ level: 'silent' });
const hex = (b: string | Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const BIG = 1_000_000;

/** A mesh whose agent answers each job with a `job.done.v1` as large as the job asks. */
async function openTestMesh() {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-refused-'));
  mkdirSync(join(dir, 'contracts'));
  mkdirSync(join(dir, 'agents'));
  const yaml = [
    'mesh: t',
    'agents:',
    '  echo: { version: 1.0.0, module: ./agents/echo.mjs, consumes: [job.queued.v1], emits: [job.done.v1] }',
    'ingress:',
    '  api: { emits: [job.queued.v1] }',
  ];
  writeFileSync(join(dir, 'mesh.yaml'), yaml.join('\n'));
  const open = JSON.stringify({ type: 'object' });
  writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), open);
  writeFileSync(join(dir, 'contracts', 'job.done.v1.json'), open);
  writeFileSync(
    join(dir, 'agents', 'echo.mjs'),
    `export default { handle(msg, ctx) { ctx.emit('job.done.v1', { pad: 'y'.repeat(msg.data.answer ?? 1) }); } };`,
  );
  const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  return opened.opened;
}

/** The entry's hashed body size: what it costs the ledger. */
const bodySize = (e: LedgerEntry) => Buffer.byteLength(JSON.stringify(e));
const reasonOf = (e: LedgerEntry) => (e.data as { verdict: { reason: string } }).verdict.reason;

describe('refused input is recorded bounded', () => {
  it('keeps an oversized envelope as prefix, size and SHA-256, with its identifiers indexed', async () => {
    await using o = await openTestMesh();
    const entry = await o.mesh.inject('api', {
      type: 'job.queued.v1',
      subject: 'job:1',
      data: { pad: 'x'.repeat(BIG) },
    });
    expect(reasonOf(entry)).toBe('envelope.too_large');
    const d = entry.data as { envelope?: unknown; raw: string; rawBytes: number; rawDigest: string };
    expect(d.envelope).toBeUndefined();
    expect(d.raw.length).toBeLessThanOrEqual(PREFIX_BYTES);
    expect(d.rawBytes).toBeGreaterThan(BIG);
    // The size is the one the gate measured and the digest is of that same JSON text.
    expect((entry.data as { verdict: { detail: string } }).verdict.detail).toContain(String(d.rawBytes));
    expect(d.rawDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(bodySize(entry)).toBeLessThan(8192);
    expect(entry).toMatchObject({ subject: 'job:1', agent: 'ingress:api', correlationId: entry.msgId });
    expect((await whyChain(o.ledger, entry.msgId!))?.chain[0]).toMatchObject({
      reason: 'envelope.too_large',
      subject: 'job:1',
    });
    expect(o.mesh.counts().messages.quarantined).toBe(1);
    expect((await o.ledger.verify()).ok).toBe(true);
  });

  it("keeps an agent's oversized emission bounded, still caused by what it answered", async () => {
    await using o = await openTestMesh();
    const root = await o.mesh.inject('api', {
      type: 'job.queued.v1',
      subject: 'job:2',
      data: { answer: BIG },
    });
    await o.mesh.idle();
    const [child] = await o.ledger.impact(root.msgId!);
    expect(child).toBeDefined();
    expect(reasonOf(child!)).toBe('envelope.too_large');
    expect(child).toMatchObject({ causationId: root.msgId, agent: 'echo@1.0.0', subject: 'job:2' });
    expect(bodySize(child!)).toBeLessThan(8192);
    expect((await impactOf(o.ledger, root.msgId!))?.impact.map((l) => l.reason)).toEqual([
      'envelope.too_large',
    ]);
  });

  it('keeps an envelope refused for a taken id bounded', async () => {
    await using o = await openTestMesh();
    const id = '0190f2a0-0000-7000-8000-000000000001';
    await o.mesh.inject('api', { id, type: 'job.queued.v1', subject: 'job:3', data: {} });
    const again = await o.mesh.inject('api', {
      id,
      type: 'job.queued.v1',
      subject: 'job:3',
      data: { pad: 'x'.repeat(BIG) },
    });
    expect(reasonOf(again)).toBe('envelope.duplicate_id');
    expect((again.data as { rawBytes: number }).rawBytes).toBeGreaterThan(BIG);
    expect(bodySize(again)).toBeLessThan(8192);
    expect(again.subject).toBe('job:3');
  });

  it.each([
    ['text', 'z'.repeat(2 * BIG)],
    ['bytes', Buffer.alloc(2 * BIG, 0xff)],
  ])('bounds whatever mesh.reject is given (%s)', async (_what, raw) => {
    await using o = await openTestMesh();
    const entry = await o.mesh.reject({
      raw,
      location: `body:${'l'.repeat(BIG)}`,
      reason: 'ingress.malformed_json',
      detail: 'd'.repeat(BIG),
      issues: Array.from({ length: 10_000 }, () => ({
        pointer: '/p'.repeat(1000),
        message: 'm'.repeat(1000),
      })),
    });
    const d = entry.data as { raw: string; rawBytes: number; rawDigest: string };
    expect(d.rawBytes).toBe(2 * BIG);
    expect(d.rawDigest).toBe(hex(raw));
    expect(bodySize(entry)).toBeLessThan(32_768);
    expect(o.mesh.counts().messages.quarantined).toBe(1);
    expect((await whyChain(o.ledger, entry.msgId!))?.chain[0]).toMatchObject({
      reason: 'ingress.malformed_json',
    });
  });
});
