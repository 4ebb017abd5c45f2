import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../policy/index.js';
import { openLedgerIn } from './open.js';
import { ENTRY } from './records.js';
import { replayLedger } from './replay.js';
import { meshText, record, replay, type Step, writeMesh } from './replay-test-kit.js';

// Replaying recorded traffic with the policy that decided it changes nothing: random traffic through
// the real runtime into a real SQLite ledger (holds, pilot releases, freezes, breakers, the loop
// guard, duplicate ids, failing effects), then replayed with the same mesh file.

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
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('reset' as const),
      breaker: fc.constantFrom('pay-burst' as const, 'pay-failing' as const),
      subject: fc.nat(2),
    }),
  },
);

/** Decision entries in the ledger. */
async function decisionsIn(dir: string): Promise<number> {
  const ledger = await openLedgerIn(join(dir, 'data'), undefined, { create: false });
  if ('code' in ledger) throw new Error(ledger.message);
  let n = 0;
  try {
    for await (const _ of ledger.scan({ kinds: [ENTRY.decision] })) n++;
  } finally {
    await ledger.close();
  }
  return n;
}

describe('replay', () => {
  it.each([1, 2])(
    'with the recorded policy changes nothing (%i partitions)',
    async (partitions) => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
          const dir = writeMesh(partitions, '5/s');
          // At least one decision: a payment of 11, which comes back through the ingress.
          await record(dir, [{ kind: 'inject', subject: 0, amount: 11, loop: false }, ...steps]);
          const report = await replay(dir);
          if (report.changed !== 0) console.error(JSON.stringify(report.changes, null, 1));
          expect(report.changed).toBe(0);
          expect(report.suppressed).toEqual([]);
          expect(report.effects.wouldNotRun).toBe(0);
          expect(report.effects.wouldRun).toBe(0);
          expect(report.breakers.wouldOpen).toEqual([]);
          expect(report.breakers.wouldNotOpen).toEqual([]);
          expect(report.sameAsRecorded).toBe(true);
          expect(report.decisions).toBeGreaterThan(0);
          expect(report.decisions).toBe(await decisionsIn(dir));
          expect(report.pilot.moot).toBe(0);
          expect(report.delayed).toEqual([]);
          expect(report.drift.candidate).toEqual(report.drift.recorded);
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
    const ledger = await openLedgerIn(join(dir, 'data'), undefined, { create: false });
    if ('code' in ledger) throw new Error(ledger.message);
    const report = await replayLedger(ledger, loaded.policy);
    await ledger.close();
    expect('code' in report && report.code).toBe('MW_RUNTIME_REPLAY_MESH');
  });
});
