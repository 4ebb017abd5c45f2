import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadPolicy } from '../policy/index.js';
import { openLedgerIn, openMesh } from './open.js';
import { replayLedger } from './replay.js';
import type { ReplayReport } from './replay-report.js';
import { log, schema } from './test-kit.js';

// For tests only (excluded from the build): a small mesh with every guard, run for real into a
// SQLite ledger by a list of steps, and replayed.

export const SUBJECTS = ['acct:1', 'acct:2', 'acct:3'];
const IDS = ['0190a3b2-0000-7000-8000-000000000001', '0190a3b2-0000-7000-8000-000000000002'];

/** The mesh in a temp folder; `rate` is the per-subject limit (low enough to trip in the property test). */
export function writeMesh(partitions: number, rate = '20/s'): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-replay-'));
  for (const d of ['contracts', 'agents', 'effects']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'mesh.yaml'), meshText(partitions, [], 150, rate));
  const job = schema({ amount: { type: 'integer' }, loop: { type: 'boolean' } });
  writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), job);
  writeFileSync(join(dir, 'contracts', 'job.scored.v1.json'), job);
  writeFileSync(join(dir, 'contracts', 'pay.issue.json'), schema({ amount: { type: 'integer' } }));
  writeFileSync(
    join(dir, 'agents', 'scorer.mjs'),
    `export default { handle(msg, ctx) {
       ctx.emit('job.scored.v1', msg.data);
       ctx.effect('pay.issue', { amount: msg.data.amount });
     } };`,
  );
  writeFileSync(
    join(dir, 'agents', 'echo.mjs'),
    `export default { handle(msg, ctx) { if (msg.data.loop) ctx.emit('job.queued.v1', msg.data); } };`,
  );
  writeFileSync(
    join(dir, 'effects', 'pay.mjs'),
    // Names a reply token; a payment of a multiple of 11 comes back through the ingress (an echo,
    // linked by its causationid).
    `export default { execute(req, ctx) {
       if (req.data.amount % 7 === 0) throw new Error('declined');
       ctx.replyToken('pay' + req.id.replaceAll('-', ''));
       if (req.data.amount % 11 === 0)
         ctx.ingest('api', { type: 'job.queued.v1', subject: req.subject, data: { amount: req.data.amount + 1, loop: false }, causationid: req.id });
     } };`,
  );
  return dir;
}

export function meshText(
  partitions: number,
  extra: readonly string[] = [],
  budget = 150,
  rate = '20/s',
): string {
  return [
    'mesh: replayed',
    `cluster: { partitions: ${partitions} }`,
    'agents:',
    '  scorer: { version: 1.0.0, module: ./agents/scorer.mjs, consumes: [job.queued.v1], emits: [job.scored.v1], effects: [pay.issue] }',
    '  echo: { version: 1.0.0, module: ./agents/echo.mjs, consumes: [job.scored.v1], emits: [job.queued.v1] }',
    'effects:',
    '  pay.issue: { module: ./effects/pay.mjs }',
    'ingress:',
    '  api: { emits: [job.queued.v1] }',
    'contracts: ./contracts',
    'guards:',
    '  loop: { maxHops: 5, maxRepeats: 1, echoWindow: 1h }',
    'limits:',
    `  - { id: per-subject, scope: entity, rate: ${rate} }`,
    'budgets:',
    `  - { id: pay-budget, scope: entity, effect: pay.issue, field: /amount, max: ${budget}, window: 1h }`,
    'breakers:',
    '  - { id: pay-burst, scope: entity, when: { count: pay.issue, over: 4, window: 1h }, action: freeze }',
    '  - { id: pay-failing, scope: entity, when: { failures: pay.issue, over: 1, window: 1h }, action: freeze }',
    'drift:',
    '  - { id: score-drift, agent: scorer, type: job.scored.v1, fields: [/amount], window: 1h, baseline: { window: 1h }, threshold: 0.2, minSamples: 5, action: alert }',
    'approvals:',
    '  - { id: big-pay, when: \'msg.type == "pay.issue" && msg.data.amount > 40\', timeout: 30ms, onTimeout: deliver }',
    ...extra,
  ].join('\n');
}

export type Step =
  | {
      readonly kind: 'inject';
      readonly subject: number;
      readonly amount: number;
      readonly loop: boolean;
      readonly id?: number;
    }
  | { readonly kind: 'approve' | 'reject' | 'wait'; readonly ms?: number }
  | { readonly kind: 'freeze' | 'unfreeze'; readonly subject: number }
  | { readonly kind: 'reset'; readonly breaker: 'pay-burst' | 'pay-failing'; readonly subject: number };

/** Runs the steps through a real mesh; returns its folder (the ledger is in `data`). */
export async function record(dir: string, steps: readonly Step[]): Promise<void> {
  const opened = await openMesh({
    meshFile: join(dir, 'mesh.yaml'),
    dataDir: join(dir, 'data'),
    log,
    retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  await using o = opened.opened;
  const act = { pilot: 'ada', reason: 'test' };
  for (const s of steps) {
    if (s.kind === 'inject') {
      const data = { amount: s.amount, loop: s.loop };
      const subject = SUBJECTS[s.subject]!;
      await o.mesh.inject('api', {
        type: 'job.queued.v1',
        subject,
        data,
        ...(s.id === undefined ? {} : { id: IDS[s.id]! }),
      });
    } else if (s.kind === 'wait') {
      await sleep(s.ms ?? 40);
    } else if (s.kind === 'reset') {
      await settle(o.mesh.pilot.resetBreaker(s.breaker, SUBJECTS[s.subject]!, act));
    } else if (s.kind === 'freeze' || s.kind === 'unfreeze') {
      await settle(o.mesh.pilot[s.kind](SUBJECTS[s.subject]!, act));
    } else {
      const held = o.mesh.held()[0];
      if (held !== undefined) await settle(o.mesh.pilot[s.kind](held.msgId, act));
    }
    await o.mesh.idle();
  }
  await sleep(40);
  await o.mesh.idle();
}

async function settle(result: unknown): Promise<void> {
  if (result instanceof Promise) await result;
}

export async function replay(dir: string, candidate?: string): Promise<ReplayReport> {
  const file = join(dir, candidate ?? 'mesh.yaml');
  const loaded = await loadPolicy(file);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const ledger = await openLedgerIn(join(dir, 'data'), undefined, { create: false });
  if ('code' in ledger) throw new Error(ledger.message);
  try {
    const report = await replayLedger(ledger, loaded.policy);
    if ('code' in report) throw new Error(report.message);
    return report;
  } finally {
    await ledger.close();
  }
}
