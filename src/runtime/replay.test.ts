import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPolicy, type Policy } from '../policy/index.js';
import { openMesh } from './open.js';
import { replayLedger } from './replay.js';
import type { ReplayReport } from './replay-report.js';
import { log, schema } from './test-kit.js';

// Replaying recorded traffic with the policy that decided it changes nothing: random traffic through
// the real runtime into a real SQLite ledger (holds, pilot releases, freezes, breakers, the loop
// guard, duplicate ids, failing effects), then replayed with the same mesh file.

const SUBJECTS = ['acct:1', 'acct:2', 'acct:3'];
const IDS = ['0190a3b2-0000-7000-8000-000000000001', '0190a3b2-0000-7000-8000-000000000002'];

function writeMesh(partitions: number, extra: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-replay-'));
  for (const d of ['contracts', 'agents', 'effects']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'mesh.yaml'), meshText(partitions, extra));
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
    `export default { execute(req) { if (req.data.amount % 7 === 0) throw new Error('declined'); } };`,
  );
  return dir;
}

function meshText(partitions: number, extra: readonly string[] = [], budget = 150): string {
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
    '  - { id: per-subject, scope: entity, rate: 20/s }',
    'budgets:',
    `  - { id: pay-budget, scope: entity, effect: pay.issue, field: /amount, max: ${budget}, window: 1h }`,
    'breakers:',
    '  - { id: pay-burst, scope: entity, when: { count: pay.issue, over: 4, window: 1h }, action: freeze }',
    '  - { id: pay-failing, scope: entity, when: { failures: pay.issue, over: 1, window: 1h }, action: freeze }',
    'approvals:',
    '  - { id: big-pay, when: \'msg.type == "pay.issue" && msg.data.amount > 40\', timeout: 30ms, onTimeout: deliver }',
    ...extra,
  ].join('\n');
}

type Step =
  | {
      readonly kind: 'inject';
      readonly subject: number;
      readonly amount: number;
      readonly loop: boolean;
      readonly id?: number;
    }
  | { readonly kind: 'approve' | 'reject' | 'wait' }
  | { readonly kind: 'freeze' | 'unfreeze'; readonly subject: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        kind: fc.constant('inject' as const),
        subject: fc.nat(2),
        amount: fc.integer({ min: 1, max: 60 }),
        loop: fc.boolean(),
        id: fc.nat(1),
      },
      { requiredKeys: ['kind', 'subject', 'amount', 'loop'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constantFrom('approve' as const, 'reject' as const, 'wait' as const) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('freeze' as const, 'unfreeze' as const),
      subject: fc.nat(2),
    }),
  },
);

/** Runs the steps through a real mesh; returns its folder (the ledger is in `data`). */
async function record(dir: string, steps: readonly Step[]): Promise<void> {
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
      await sleep(40);
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

async function replay(dir: string, candidate?: string): Promise<ReplayReport> {
  const file = join(dir, candidate ?? 'mesh.yaml');
  const loaded = await loadPolicy(file);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const { openLedgerIn } = await import('./open.js');
  const ledger = await openLedgerIn(join(dir, 'data'), undefined, { create: false });
  if ('code' in ledger) throw new Error(ledger.message);
  try {
    const report = await replayLedger(ledger, loaded.policy as Policy);
    if ('code' in report) throw new Error(report.message);
    return report;
  } finally {
    await ledger.close();
  }
}

describe('replay', () => {
  it.each([1, 2])(
    'with the recorded policy changes nothing (%i partitions)',
    async (partitions) => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
          const dir = writeMesh(partitions);
          await record(dir, steps);
          const report = await replay(dir);
          if (report.changed !== 0) console.error(JSON.stringify(report.changes, null, 1));
          expect(report.changed).toBe(0);
          expect(report.suppressed).toEqual([]);
          expect(report.effects.wouldNotRun).toBe(0);
          expect(report.effects.wouldRun).toBe(0);
          expect(report.breakers.wouldOpen).toEqual([]);
          expect(report.breakers.wouldNotOpen).toEqual([]);
          expect(report.sameAsRecorded).toBe(true);
        }),
        { numRuns: 12 },
      );
    },
    120_000,
  );

  it('a tighter budget refuses payments and cuts off what followed them', async () => {
    const dir = writeMesh(1);
    // One subject, small amounts, no loop: the budget of 150 lets all of it through.
    await record(
      dir,
      [10, 20, 30].map((amount) => ({ kind: 'inject', subject: 0, amount, loop: false }) as const),
    );
    writeFileSync(join(dir, 'candidate.yaml'), meshText(1, [], 25));
    const report = await replay(dir, 'candidate.yaml');
    expect(report.sameAsRecorded).toBe(false);
    expect(report.matrix['deliver→deny']).toBeGreaterThan(0);
    const refused = report.changes.filter((c) => c.candidate.reason === 'budget.exceeded');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((c) => c.type === 'pay.issue' && c.recorded.verdict === 'deliver')).toBe(true);
    expect(report.effects.wouldNotRun).toBeGreaterThan(0);
    const sums = report.effects.byType['pay.issue']!.bySubject['acct:1']!;
    expect(sums).toMatchObject({ count: 2, sums: { amount: 50 } });
    expect(report.suppressed).toEqual([]);
  }, 30_000);

  it('a tighter rate limit refuses messages, and what they caused would not have happened', async () => {
    const dir = writeMesh(1);
    await record(
      dir,
      [10, 20].map((amount) => ({ kind: 'inject', subject: 1, amount, loop: false }) as const),
    );
    writeFileSync(join(dir, 'candidate.yaml'), meshText(1).replace('rate: 20/s', 'rate: 3/h'));
    const report = await replay(dir, 'candidate.yaml');
    // The second job is refused; its score and its payment are not decided again.
    expect(report.matrix['deliver→deny']).toBe(1);
    expect(report.changes).toHaveLength(1);
    expect(report.changes[0]).toMatchObject({
      type: 'job.queued.v1',
      recorded: { verdict: 'deliver', stage: 'gate' },
      candidate: { verdict: 'deny', stage: 'rate-limit', rule: 'per-subject' },
      suppressed: 2,
    });
    expect(report.suppressed).toHaveLength(2);
    expect(report.effects.byType['pay.issue']!.bySubject['acct:2']).toMatchObject({
      count: 1,
      sums: { amount: 20 },
    });
  }, 30_000);

  it('refuses a candidate of another mesh', async () => {
    const dir = writeMesh(1);
    await record(dir, [{ kind: 'inject', subject: 0, amount: 5, loop: false }]);
    writeFileSync(join(dir, 'other.yaml'), meshText(1).replace('mesh: replayed', 'mesh: other'));
    const loaded = await loadPolicy(join(dir, 'other.yaml'));
    if (!loaded.ok) throw new Error('bad');
    const { openLedgerIn } = await import('./open.js');
    const ledger = await openLedgerIn(join(dir, 'data'), undefined, { create: false });
    if ('code' in ledger) throw new Error(ledger.message);
    const report = await replayLedger(ledger, loaded.policy);
    await ledger.close();
    expect('code' in report && report.code).toBe('MW_RUNTIME_REPLAY_MESH');
  });
});
