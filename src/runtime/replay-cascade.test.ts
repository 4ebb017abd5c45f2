import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { meshText, record, replay, writeMesh } from './replay-test-kit.js';

// What a candidate changes beyond a first verdict: a timeout's outcome, what it admits that was
// refused (not re-run: its future is unknown), and a ledger written under several policies.

const inject = (amount: number, subject = 0) => ({ kind: 'inject', subject, amount, loop: false }) as const;

describe('replay against a candidate', () => {
  it("applies the candidate's approval timeout: deny where the recording delivered", async () => {
    const dir = writeMesh(1);
    // 45 > 40: held for approval, timed out after 30ms and delivered.
    await record(dir, [inject(45), { kind: 'wait' }]);
    writeFileSync(join(dir, 'candidate.yaml'), meshText(1).replace('onTimeout: deliver', 'onTimeout: deny'));
    const report = await replay(dir, 'candidate.yaml');
    expect(report.matrix).not.toHaveProperty('hold→deliver');
    expect(report.changes).toHaveLength(1);
    expect(report.changes[0]).toMatchObject({
      kind: 'release',
      type: 'pay.issue',
      recorded: { verdict: 'deliver', rule: 'big-pay', reason: 'release.timeout' },
      candidate: { verdict: 'deny', rule: 'big-pay', reason: 'release.timeout' },
    });
    // Each side names its approval rule and its onTimeout; the candidate's wait is its rule's.
    expect(report.changes[0]?.recorded.detail).toMatch(
      /^big-pay timed out after \d+ms; onTimeout deliver\.$/,
    );
    expect(report.changes[0]?.candidate.detail).toBe('big-pay timed out after 30ms; onTimeout deny.');
    // The matrix counts first decisions only; the report says how many changes are hold outcomes.
    expect(report.changed).toBe(1);
    expect(report.changedReleases).toBe(1);
    expect(report.effects.byType['pay.issue']?.bySubject['acct:1']).toMatchObject({
      count: 1,
      sums: { amount: 45 },
    });
    expect(report.pilot).toEqual({ replayed: 1, moot: 0 });
  }, 30_000);

  it('reports a sooner timeout whose onTimeout differs, both rules named', async () => {
    const dir = writeMesh(1);
    await record(dir, [inject(45), { kind: 'wait' }]);
    const sooner = meshText(1).replace('timeout: 30ms, onTimeout: deliver', 'timeout: 10ms, onTimeout: deny');
    writeFileSync(join(dir, 'candidate.yaml'), sooner);
    const report = await replay(dir, 'candidate.yaml');
    expect(report.changes).toHaveLength(1);
    expect(report.changes[0]).toMatchObject({
      kind: 'release',
      recorded: { verdict: 'deliver', rule: 'big-pay', reason: 'release.timeout' },
      candidate: { verdict: 'deny', rule: 'big-pay', reason: 'release.timeout' },
    });
    expect(report.changes[0]?.candidate.detail).toBe('big-pay timed out after 10ms; onTimeout deny.');
    expect(report.changedReleases).toBe(1);
  }, 30_000);

  it('says what the candidate admits that was refused, and that what follows is unknown', async () => {
    const dir = writeMesh(1);
    // 40 + 40 + 40 + 40 > 150: the fourth payment is over budget.
    await record(dir, [inject(40), inject(40), inject(40), inject(40)]);
    writeFileSync(join(dir, 'candidate.yaml'), meshText(1, [], 1000));
    const report = await replay(dir, 'candidate.yaml');
    expect(report.matrix['deny→deliver']).toBe(1);
    expect(report.changes).toEqual([
      expect.objectContaining({
        type: 'pay.issue',
        recorded: expect.objectContaining({ verdict: 'deny', reason: 'budget.exceeded' }),
        candidate: expect.objectContaining({ verdict: 'deliver' }),
        followUnknown: true,
        // Always there (0 when it cut nothing off), as docs/replay.md shows it.
        suppressed: 0,
      }),
    ]);
    expect(report.effects).toMatchObject({ wouldNotRun: 0, wouldRun: 1 });
    expect(report.suppressed).toEqual([]);
  }, 30_000);

  it('replays a ledger written under two policies whole, naming both digests', async () => {
    const dir = writeMesh(1);
    await record(dir, [inject(10), inject(20)]);
    writeFileSync(join(dir, 'mesh.yaml'), meshText(1, [], 20));
    await record(dir, [inject(5, 1)]);
    const report = await replay(dir);
    expect(report.recordedPolicies).toHaveLength(2);
    expect(report.sameAsRecorded).toBe(true);
    // Under the second policy (budget 20), the first run's second payment (10 + 20) is over budget.
    expect(report.changes).toEqual([
      expect.objectContaining({
        type: 'pay.issue',
        subject: 'acct:1',
        candidate: expect.objectContaining({ reason: 'budget.exceeded' }),
      }),
    ]);
  }, 30_000);

  it('opens a breaker the recording did not, and cuts off what it held', async () => {
    const dir = writeMesh(1);
    await record(dir, [inject(1), inject(2), inject(3)]);
    // Over 1 payment an hour: the second trips the breaker (frozen), the third is held by it.
    writeFileSync(
      join(dir, 'candidate.yaml'),
      meshText(1).replace('over: 4, window: 1h }, action: freeze', 'over: 1, window: 1h }, action: freeze'),
    );
    const report = await replay(dir, 'candidate.yaml');
    expect(report.breakers.wouldOpen).toEqual([expect.objectContaining({ id: 'pay-burst', key: 'acct:1' })]);
    expect(report.breakers.wouldNotOpen).toEqual([]);
    expect(report.matrix['deliver→hold']).toBeGreaterThan(0);
    // A held job.queued cuts off its score and payment.
    const held = report.changes.find((c) => c.type === 'job.queued.v1');
    expect(held?.suppressed).toBe(2);
    expect(report.suppressed.length).toBeGreaterThanOrEqual(2);
  }, 30_000);
});
