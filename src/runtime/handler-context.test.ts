import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../envelope/index.js';
import { createAttempts } from './attempts.js';
import { zeroCounts } from './events.js';
import { openMesh } from './open.js';
import { ENTRY } from './records.js';
import { log, writeMesh } from './test-kit.js';
import { createWorkTracker } from './work.js';

describe("a handler's context", () => {
  it('may be taken apart: its members work out of it, and each is the same on every read', async () => {
    const dir = writeMesh(0);
    writeFileSync(
      join(dir, 'agents', 'flaky.mjs'),
      `export default { handle(msg, ctx) {
         const { emit, effect, agent, version, attempt } = ctx;
         globalThis.__meshwardenContext = { agent, version, attempt, same: ctx.emit === emit && ctx.note === ctx.note };
         emit('job.done.v1', { n: msg.data.n });
         effect('notify.send', { n: msg.data.n });
       } };`,
    );
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 7 } });
    await o.mesh.idle();
    expect((globalThis as { __meshwardenContext?: unknown }).__meshwardenContext).toEqual({
      agent: 'flaky',
      version: '1.0.0',
      attempt: 1,
      same: true,
    });
    const types = (await Array.fromAsync(o.ledger.scan()))
      .filter((e) => e.kind === ENTRY.decision)
      .map((e) => (e.data as { envelope: { type: string } }).envelope.type);
    expect(types).toEqual(['job.queued.v1', 'job.done.v1', 'notify.send']);
  });
});

describe('attempts', () => {
  const msg = { id: '0190a000-0000-7000-8000-000000000001' } as Envelope;
  const attempts = () =>
    createAttempts({
      log,
      clock: () => 0,
      work: createWorkTracker(8, (err) => {
        throw err;
      }),
      counts: zeroCounts(),
      publish: () => {},
      failed: async () => undefined,
      retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 1 },
    });
  const wrap = (cause: unknown) => cause as never;

  it('answers a first try that returns at once without a promise', () => {
    expect(attempts().attempt(msg, 'w@1', () => 'done', wrap)).toEqual({
      ok: true,
      value: 'done',
      attempt: 1,
    });
  });

  it('retries a first try that throws at once, as it retries one that rejects', async () => {
    for (const fail of [
      () => {
        throw new Error('no');
      },
      () => Promise.reject(new Error('no')),
    ]) {
      let tries = 0;
      const result = attempts().attempt(msg, 'w@1', (n) => (++tries === 1 ? fail() : `try ${n}`), wrap);
      expect(result).toBeInstanceOf(Promise);
      expect(await result).toEqual({ ok: true, value: 'try 2', attempt: 2 });
    }
  });
});
