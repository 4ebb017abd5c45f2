import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { openMesh } from '../../runtime/index.js';
import { createFollowing } from './follow.js';

/** A mesh whose one agent answers each job with one done message. */
function writeMesh(handler = "ctx.emit('job.done.v1', { n: msg.data.n });"): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-follow-'));
  mkdirSync(join(dir, 'contracts'));
  mkdirSync(join(dir, 'agents'));
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: t',
      'agents:',
      '  worker: { version: 1.0.0, module: ./agents/worker.mjs, consumes: [job.queued.v1], emits: [job.done.v1] }',
      'ingress:',
      '  api: { emits: [job.queued.v1] }',
    ].join('\n'),
  );
  for (const type of ['job.queued.v1', 'job.done.v1'])
    writeFileSync(join(dir, 'contracts', `${type}.json`), '{ "type": "object" }');
  writeFileSync(join(dir, 'agents', 'worker.mjs'), `export default { handle(msg, ctx) { ${handler} } };`);
  return dir;
}

/** The worker mesh, opened in a temp folder. */
async function openWorkerMesh(handler?: string) {
  const dir = writeMesh(handler);
  const opened = await openMesh({
    meshFile: join(dir, 'mesh.yaml'),
    dataDir: join(dir, 'data'),
    log: pino({ level: 'silent' }),
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  return opened.opened;
}

describe('following messages through the mesh', () => {
  it("gathers an agent's answers, and forgets a message once its follow is closed", async () => {
    await using o = await openWorkerMesh();
    const following = createFollowing(o.mesh);
    const id = '0190a7b2-0000-7000-8000-000000000001';
    const follow = following.follow(id);
    await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 }, id });
    const handled = await follow.handled();
    expect(handled).toMatchObject({ ok: true, agent: 'worker@1.0.0' });
    const answers = 'answers' in handled ? handled.answers : [];
    expect(answers.map((a) => [a.envelope?.type, a.verdict.decision])).toEqual([['job.done.v1', 'deliver']]);
    // Answered once durable: the answer is in the ledger by the time it is handed out.
    expect((await o.ledger.byMessage(answers[0]!.msgId)).length).toBeGreaterThan(0);
    expect(following.size()).toBe(1);
    follow.close();
    expect(following.size()).toBe(0);
  });

  it('lets two follows of one id (a client sending its message twice) each end, neither pushing out the other', async () => {
    await using o = await openWorkerMesh();
    const following = createFollowing(o.mesh);
    const id = '0190a7b2-0000-7000-8000-000000000003';
    const first = following.follow(id);
    const second = following.follow(id);
    second.close(); // the resend, refused, is done with at once
    await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 }, id });
    expect(await first.handled()).toMatchObject({ ok: true });
    first.close();
    expect(following.size()).toBe(0);
  });

  it('counts an answer too malformed for an envelope, so the follow still ends', async () => {
    await using o = await openWorkerMesh(
      "ctx.emit('job.done.v1', { n: msg.data.n }); ctx.emit('Not A Type', {});",
    );
    const following = createFollowing(o.mesh);
    const id = '0190a7b2-0000-7000-8000-000000000002';
    const follow = following.follow(id);
    await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 }, id });
    const handled = await follow.handled();
    const answers = 'answers' in handled ? handled.answers : [];
    expect(answers.map((a) => a.verdict.decision).sort()).toEqual(['deliver', 'quarantine']);
    follow.close();
  });
});
