import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../ledger/index.js';
import { openMesh } from './open.js';
import { ENTRY } from './records.js';
import { log, writeMesh } from './test-kit.js';

describe("a handler's context", () => {
  it('may be taken apart: its members work out of it, and each is the same on every read', async () => {
    await using o = await meshWith(
      `export default { handle(msg, ctx) {
         const { emit, effect, agent, version, attempt } = ctx;
         globalThis.__meshwardenContext = { agent, version, attempt, same: ctx.emit === emit && ctx.note === ctx.note };
         emit('job.done.v1', { n: msg.data.n });
         effect('notify.send', { n: msg.data.n });
       } };`,
    );
    expect(seen()).toEqual({ agent: 'flaky', version: '1.0.0', attempt: 1, same: true });
    expect(await decidedTypes(o)).toEqual(['job.queued.v1', 'job.done.v1', 'notify.send']);
  });

  it('works through a Proxy of it, and a method may be replaced, as on a plain object', async () => {
    await using o = await meshWith(
      `export default { handle(msg, ctx) {
         const seen = [];
         const emit = ctx.emit;
         ctx.emit = (type, data) => { seen.push(type); return emit(type, data); };
         new Proxy(ctx, {}).emit('job.done.v1', { n: msg.data.n });
         globalThis.__meshwardenContext = { seen, attempt: new Proxy(ctx, {}).attempt };
       } };`,
    );
    expect(seen()).toEqual({ seen: ['job.done.v1'], attempt: 1 });
    expect(await decidedTypes(o)).toEqual(['job.queued.v1', 'job.done.v1']);
  });
});

/** What the test's handler left on the global object, taken off it. */
function seen(): unknown {
  const g = globalThis as { __meshwardenContext?: unknown };
  const value = g.__meshwardenContext;
  delete g.__meshwardenContext;
  return value;
}

/** A test mesh whose first agent is `code`, after one message went through it. */
async function meshWith(code: string) {
  const dir = writeMesh(0);
  writeFileSync(join(dir, 'agents', 'flaky.mjs'), code);
  const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  const o = opened.opened;
  await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 7 } });
  await o.mesh.idle();
  return o;
}

async function decidedTypes(o: { ledger: { scan(): AsyncIterable<LedgerEntry> } }): Promise<string[]> {
  return (await Array.fromAsync(o.ledger.scan()))
    .filter((e) => e.kind === ENTRY.decision)
    .map((e) => (e.data as { envelope: { type: string } }).envelope.type);
}
