import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../policy/index.js';
import { openLedgerIn } from './open.js';
import { ENTRY } from './records.js';
import { replayLedger } from './replay.js';
import { createReplayEngine } from './replay-engine.js';
import { meshText, record, replay, type Step, writeMesh } from './replay-test-kit.js';

// What a replay keeps does not grow with the ledger: after a long recording, nothing delivered is
// kept (no envelopes, no ids), only the ids the candidate refused; the report lists at most `limit`.

describe('replay memory', () => {
  it('keeps nothing per delivered message, only what the candidate refused', async () => {
    const dir = writeMesh(1, '1000/s');
    // Small payments over many subjects, some failing (amount % 7 === 0), none over the budget.
    const steps: Step[] = Array.from({ length: 60 }, (_, i) => ({
      kind: 'inject',
      subject: i % 3,
      amount: 1 + (i % 9),
      loop: false,
    }));
    // Breakers that do not trip: a long run of delivered traffic, its failures counted.
    const text = meshText(1, [], 100_000, '1000/s')
      .replaceAll('over: 4,', 'over: 1000,')
      .replace('over: 1,', 'over: 1000,');
    writeFileSync(join(dir, 'mesh.yaml'), text);
    await record(dir, steps);
    writeFileSync(join(dir, 'candidate.yaml'), text.replace('max: 100000', 'max: 100'));
    const loaded = await loadPolicy(join(dir, 'candidate.yaml'));
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    const ledger = await openLedgerIn(join(dir, 'data'), undefined, { create: false });
    if ('code' in ledger) throw new Error(ledger.message);
    const engine = createReplayEngine(loaded.policy, new Map());
    let entries = 0;
    try {
      for await (const e of ledger.scan({ partition: 0 })) {
        if (e.kind === ENTRY.policyLoaded || e.kind === ENTRY.partitionOwned) engine.policyInForce(e);
        engine.apply(e);
        entries++;
      }
    } finally {
      await ledger.close();
    }
    engine.settle(Number.MAX_SAFE_INTEGER);
    expect(entries).toBeGreaterThan(300);
    expect(engine.fold.decisions).toBeGreaterThanOrEqual(180);
    const refused = Object.entries(Object.fromEntries(engine.fold.matrix))
      .filter(([k]) => !k.endsWith('→deliver'))
      .reduce((n, [, v]) => n + v, 0);
    expect(refused).toBeGreaterThan(0);
    expect(engine.sizes()).toEqual({
      refused,
      cut: engine.fold.suppressedTotal,
      waiting: 0,
      recordedHeld: 0,
      effects: 0,
      running: 0,
      watched: 0,
      changes: engine.fold.changes.length,
      suppressed: engine.fold.suppressed.length,
      timers: 0,
    });
  }, 60_000);

  it('lists the first `limit` changes and suppressed ids, and counts them all', async () => {
    const dir = writeMesh(1);
    await record(
      dir,
      [10, 20, 30].map((amount) => ({ kind: 'inject', subject: 1, amount, loop: false }) as const),
    );
    writeFileSync(join(dir, 'candidate.yaml'), meshText(1).replace('rate: 20/s', 'rate: 3/h'));
    const whole = await replay(dir, 'candidate.yaml');
    expect(whole.changed).toBe(2);
    expect(whole.suppressedTotal).toBe(4);
    const loaded = await loadPolicy(join(dir, 'candidate.yaml'));
    if (!loaded.ok) throw new Error('bad');
    const ledger = await openLedgerIn(join(dir, 'data'), undefined, { create: false });
    if ('code' in ledger) throw new Error(ledger.message);
    const report = await replayLedger(ledger, loaded.policy, { limit: 1 });
    await ledger.close();
    if ('code' in report) throw new Error(report.message);
    expect(report).toMatchObject({ limit: 1, changed: 2, suppressedTotal: 4 });
    expect(report.changes).toHaveLength(1);
    expect(report.suppressed).toHaveLength(1);
  }, 30_000);

  it('stops when its signal is aborted', async () => {
    const dir = writeMesh(1);
    await record(dir, [{ kind: 'inject', subject: 0, amount: 5, loop: false }]);
    const loaded = await loadPolicy(join(dir, 'mesh.yaml'));
    if (!loaded.ok) throw new Error('bad');
    const ledger = await openLedgerIn(join(dir, 'data'), undefined, { create: false });
    if ('code' in ledger) throw new Error(ledger.message);
    const report = await replayLedger(ledger, loaded.policy, { signal: AbortSignal.abort() });
    await ledger.close();
    expect('code' in report && report.code).toBe('MW_RUNTIME_REPLAY_ABORTED');
  });
});
