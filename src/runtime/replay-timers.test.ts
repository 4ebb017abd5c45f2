import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { meshText, record, replay, writeMesh } from './replay-test-kit.js';

// The candidate's own approval timers: what they release is reported where the recording did
// otherwise; what a hold delayed is not counted as cut off; timers of a ledger under several policies.

const inject = (amount: number, subject = 0) => ({ kind: 'inject', subject, amount, loop: false }) as const;
const wait = (ms: number) => ({ kind: 'wait', ms }) as const;

describe('replay: candidate timers', () => {
  it.each([
    ['approve', 'deny', 'deliver', undefined],
    ['reject', 'deliver', 'deny', true],
  ] as const)(
    "reports a timeout that fires before the pilot's %s",
    async (act, onTimeout, recorded, unknown) => {
      const dir = writeMesh(1);
      // 45 > 40: held for approval (for an hour); the pilot acts after 12ms.
      writeFileSync(join(dir, 'mesh.yaml'), meshText(1).replace('timeout: 30ms', 'timeout: 1h'));
      await record(dir, [inject(45), wait(12), { kind: act }]);
      writeFileSync(
        join(dir, 'candidate.yaml'),
        meshText(1).replace('timeout: 30ms, onTimeout: deliver', `timeout: 2ms, onTimeout: ${onTimeout}`),
      );
      const report = await replay(dir, 'candidate.yaml');
      const change = report.changes.find((c) => c.kind === 'release');
      expect(change).toMatchObject({
        type: 'pay.issue',
        recorded: { verdict: recorded, reason: 'release.pilot' },
        candidate: { verdict: onTimeout, reason: 'release.timeout' },
      });
      expect(change?.followUnknown).toBe(unknown);
      expect(report.pilot).toEqual({ replayed: 1, moot: 1 });
    },
    30_000,
  );

  it('counts what a hold released later with deliver caused as delayed, not cut off', async () => {
    const dir = writeMesh(1);
    await record(dir, [inject(10, 0), wait(1200), inject(10, 1)]);
    // The candidate holds acct:1's jobs for a second, then delivers them: the score and the payment
    // recorded meanwhile may still have happened, later.
    const rule =
      '  - { id: slow-jobs, when: \'msg.type == "job.queued.v1" && msg.subject == "acct:1"\', timeout: 1s, onTimeout: deliver }';
    writeFileSync(join(dir, 'candidate.yaml'), meshText(1, [rule]));
    const report = await replay(dir, 'candidate.yaml');
    expect(report.matrix['deliver→hold']).toBe(1);
    expect(report.delayedTotal).toBe(2);
    expect(report.delayed).toHaveLength(2);
    expect(report.suppressed).toEqual([]);
    expect(report.suppressedTotal).toBe(0);
    expect(report.effects).toMatchObject({ wouldNotRun: 0, wouldRun: 0 });
    expect(report.changes.find((c) => c.type === 'job.queued.v1')).toMatchObject({ delayed: 2 });
  }, 30_000);

  it("uses the recording's timers only while the recorded policy is the candidate", async () => {
    const dir = writeMesh(1);
    // Under the first policy the payment's hold times out after 5ms, delivered.
    writeFileSync(join(dir, 'mesh.yaml'), meshText(1).replace('timeout: 30ms', 'timeout: 5ms'));
    await record(dir, [inject(45), wait(40)]);
    // The second (the candidate) waits an hour: the first run's payment would not have run.
    writeFileSync(join(dir, 'mesh.yaml'), meshText(1).replace('timeout: 30ms', 'timeout: 1h'));
    await record(dir, [inject(5, 1)]);
    const report = await replay(dir);
    expect(report.sameAsRecorded).toBe(true);
    expect(report.effects.wouldNotRun).toBe(1);
    expect(report.effects.byType['pay.issue']?.bySubject['acct:1']).toMatchObject({ sums: { amount: 45 } });
  }, 30_000);
});
