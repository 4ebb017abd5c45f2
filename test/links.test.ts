/**
 * Linking what comes back from outside to the effect that caused it, end to end: a real mesh (SQLite
 * ledger, module files), a deploy effect whose executor returns a 12-character commit id as its
 * reply token, webhooks that carry it (or a causationid) back, and `why` read by the built CLI.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../src/ledger/index.js';
import { ENTRY, type Mesh, openMesh } from '../src/runtime/index.js';
import { runCli, tempDir } from './run-cli.js';

const log = pino({ level: 'silent' });
const SERVICE = 'service:api';
const OTHER = 'service:web';

/**
 * `release` requests a deploy for every release and, when a finished deploy says `redeploy`, one
 * more: a bug that loops through the outside world. The deploy executor's commit ids are
 * `c0ffee000001`, `c0ffee000002`, …; it fails its first try for `service:flaky`, and every try
 * for `service:broken` and `service:badtoken` (a reply token with a space).
 */
function writeMesh(): string {
  const dir = tempDir('links');
  mkdirSync(join(dir, 'contracts'));
  mkdirSync(join(dir, 'agents'));
  mkdirSync(join(dir, 'effects'));
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: ops',
      'agents:',
      '  release: { version: 1.0.0, module: ./agents/release.mjs, consumes: [release.requested.v1, deploy.finished.v1], effects: [deploy.start] }',
      'effects:',
      '  deploy.start: { module: ./effects/deploy.mjs }',
      'ingress:',
      '  api: { emits: [release.requested.v1] }',
      '  webhooks: { emits: [deploy.finished.v1] }',
    ].join('\n'),
  );
  const open = JSON.stringify({ type: 'object' });
  for (const type of ['release.requested.v1', 'deploy.finished.v1', 'deploy.start'])
    writeFileSync(join(dir, 'contracts', `${type}.json`), open);
  writeFileSync(
    join(dir, 'agents', 'release.mjs'),
    `export default { handle(msg, ctx) {
       if (msg.type === 'release.requested.v1' || msg.data.redeploy === true)
         ctx.effect('deploy.start', { service: msg.subject, ref: 'main' });
     } };`,
  );
  writeFileSync(
    join(dir, 'effects', 'deploy.mjs'),
    `let n = 0;
     export default { execute(request, ctx) {
       if (request.subject === 'service:broken' || (request.subject === 'service:flaky' && ctx.attempt === 1))
         throw new Error('deploy API answered 503');
       if (request.subject === 'service:badtoken') ctx.replyToken('two words');
       n++;
       const commit = 'c0ffee' + String(n).padStart(6, '0');
       ctx.replyToken(commit);
       return { commit };
     } };`,
  );
  return dir;
}

type Opened = { mesh: Mesh; all: () => Promise<LedgerEntry[]> };

async function withMesh(dir: string, fn: (o: Opened) => Promise<void>): Promise<void> {
  const opened = await openMesh({
    meshFile: join(dir, 'mesh.yaml'),
    dataDir: join(dir, 'data'),
    log,
    retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  await using o = opened.opened;
  await fn({ mesh: o.mesh, all: () => Array.fromAsync(o.ledger.scan()) });
  await o.mesh.idle();
}

const executed = (entries: LedgerEntry[], subject: string) =>
  entries.filter((e) => e.kind === ENTRY.effectExecuted && e.subject === subject);
const verdictOf = (e: LedgerEntry) => (e.data as { verdict: { decision: string; reason: string } }).verdict;
const finished = (sha: string, extra: object = {}) => ({ sha, status: 'success', ...extra });

async function why(dir: string, id: string) {
  const json = await runCli(['why', id, '--data', join(dir, 'data'), '--json']);
  expect(json.code, json.stderr).toBe(0);
  const text = await runCli(['why', id, '--data', join(dir, 'data')]);
  expect(text.code, text.stderr).toBe(0);
  return { doc: JSON.parse(json.stdout), text: text.stdout };
}

describe('a webhook carrying a deploy effect back', () => {
  const dir = writeMesh();
  const ids: Record<string, string> = {};

  it('links a webhook carrying the 12-character commit id to the deploy, also after a restart', async () => {
    await withMesh(dir, async ({ mesh, all }) => {
      await mesh.inject('api', {
        type: 'release.requested.v1',
        subject: SERVICE,
        data: { version: '1.2.0' },
      });
      await mesh.idle();
      const [deploy] = executed(await all(), SERVICE);
      expect(deploy?.data).toMatchObject({ effect: 'deploy.start', replyToken: 'c0ffee000001' });
      ids.deploy = deploy!.msgId!;
      const hook = await mesh.inject('webhooks', {
        type: 'deploy.finished.v1',
        subject: SERVICE,
        data: finished('c0ffee000001'),
      });
      ids.hook = hook.msgId!;
      expect(hook.causationId).toBe(ids.deploy);
      expect(hook.data).toMatchObject({
        link: { effect: 'deploy.start', effectId: ids.deploy, token: 'c0ffee000001', via: 'reply-token' },
      });
    });
    // A new process: the token comes back from the ledger (effect.executed's deltas).
    await withMesh(dir, async ({ mesh }) => {
      const again = await mesh.inject('webhooks', {
        type: 'deploy.finished.v1',
        subject: SERVICE,
        data: { text: 'Deployed c0ffee000001 to production.' },
      });
      expect(again.causationId).toBe(ids.deploy);
    });
  });

  it('why starts at the release and names the deploy effect it is linked to', async () => {
    const { doc, text } = await why(dir, ids.hook!);
    expect(doc.chain.map((l: { type: string }) => l.type)).toEqual([
      'release.requested.v1',
      'deploy.start',
      'deploy.finished.v1',
    ]);
    expect(doc.chain[2]).toMatchObject({
      causationid: ids.deploy,
      echoOf: ids.deploy,
      linkedTo: { id: ids.deploy, effect: 'deploy.start', via: 'reply-token', token: 'c0ffee000001' },
    });
    expect(doc.chain[0].linkedTo).toBeNull();
    expect(text).toContain(`linked to deploy.start effect ${ids.deploy}`);
    expect(text).not.toContain('e-mail');
  });

  it('links by a causationid naming the deploy request, and quarantines forged ones', async () => {
    await withMesh(dir, async ({ mesh, all }) => {
      await mesh.inject('api', { type: 'release.requested.v1', subject: OTHER, data: { version: '9.0.0' } });
      await mesh.idle();
      const otherDeploy = executed(await all(), OTHER)[0]!.msgId!;
      const hook = (causationid: string, subject = SERVICE) =>
        mesh.inject('webhooks', { type: 'deploy.finished.v1', subject, data: { status: 'ok' }, causationid });

      const good = await hook(ids.deploy!);
      expect(verdictOf(good).decision).toBe('deliver');
      expect(good.data).toMatchObject({ link: { effectId: ids.deploy, via: 'causationid' } });

      for (const forged of [otherDeploy, '01972b5c-ee00-7000-8000-0000000dead1', ids.hook!]) {
        const bad = await hook(forged);
        expect(verdictOf(bad)).toMatchObject({ decision: 'quarantine', reason: 'loop.unverified_causation' });
        expect(bad.causationId).toBeUndefined();
        expect(bad.data).toMatchObject({ unverifiedCausation: forged });
        expect((bad.data as { envelope: object }).envelope).not.toHaveProperty('causationid');
        ids.forged = bad.msgId!;
      }
      // A token another subject's deploy returned links nothing here.
      const stray = await mesh.inject('webhooks', {
        type: 'deploy.finished.v1',
        subject: SERVICE,
        data: finished('c0ffee000002'),
      });
      expect(stray.causationId).toBeUndefined();
    });
    const { doc, text } = await why(dir, ids.forged!);
    expect(doc.chain).toHaveLength(1);
    expect(doc.chain[0]).toMatchObject({ causationid: null, linkedTo: null, unverifiedCausation: ids.hook });
    expect(text).toContain('could not verify');
    const impact = await runCli(['impact', ids.hook!, '--data', join(dir, 'data'), '--json']);
    expect(JSON.parse(impact.stdout).impact).toEqual([]);
  });

  it('makes an out-of-band redeploy loop a causal one, which the loop guard stops', async () => {
    const subject = 'service:loop';
    await withMesh(dir, async ({ mesh, all }) => {
      await mesh.inject('api', { type: 'release.requested.v1', subject, data: {} });
      await mesh.idle();
      for (let i = 0; i < 6; i++) {
        const last = executed(await all(), subject).at(-1)!;
        const token = (last.data as { replyToken: string }).replyToken;
        await mesh.inject('webhooks', {
          type: 'deploy.finished.v1',
          subject,
          data: finished(token, { redeploy: true }),
        });
        await mesh.idle();
      }
      const stops = (await all()).filter(
        (e) => e.kind === ENTRY.decision && e.subject === subject && verdictOf(e).reason.startsWith('loop.'),
      );
      expect(stops.length).toBeGreaterThan(0);
      expect(executed(await all(), subject).length).toBeLessThanOrEqual(2);
    });
  });
});

describe('why shows why a delivery failed', () => {
  it.each([
    { subject: 'service:flaky', kinds: ['delivery.failed', 'effect.executed'], code: 'MW_RUNTIME_EXECUTOR' },
    { subject: 'service:broken', kinds: ['delivery.failed', 'dead-letter'], code: 'MW_RUNTIME_EXECUTOR' },
    {
      subject: 'service:badtoken',
      kinds: ['delivery.failed', 'dead-letter'],
      code: 'MW_RUNTIME_REPLY_TOKEN',
    },
  ])('$subject: each failure with its code and message, text and JSON', async ({ subject, kinds, code }) => {
    const dir = writeMesh();
    let deploy = '';
    await withMesh(dir, async ({ mesh, all }) => {
      await mesh.inject('api', { type: 'release.requested.v1', subject, data: {} });
      await mesh.idle();
      deploy = (await all()).find((e) => e.kind === ENTRY.decision && e.agent === 'release@1.0.0')!.msgId!;
    });
    const { doc, text } = await why(dir, deploy);
    const outcomes = doc.chain.at(-1).outcomes as {
      kind: string;
      attempt?: number;
      error?: { code: string };
    }[];
    expect(outcomes.map((o) => o.kind)).toEqual(kinds);
    const failures = outcomes.filter((o) => o.kind !== 'effect.executed');
    for (const o of failures) {
      expect(o).toMatchObject({ agent: 'effect:deploy.start', error: { code } });
      expect(o.attempt).toBeGreaterThan(0);
    }
    expect(text).toContain(`delivery.failed ${code}`);
    expect(text).toContain(`effect:deploy.start failed ${deploy} (try 1): ${code}`);
    if (kinds.includes('dead-letter')) expect(text).toContain(`dead-lettered ${deploy} (try 2): ${code}`);
  });
});
