import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { sayProgress, sayRecoveryProgress } from './ledger-access.js';

describe('sayProgress', () => {
  it('says how far a long read has come at most every two seconds, and nothing before the first two', () => {
    const notes: string[] = [];
    let now = 0;
    const progress = sayProgress({ note: (text) => notes.push(text) }, 'verified', 1_000_000, () => now);
    for (const [at, verified] of [
      [500, 65_536],
      [1_999, 131_072],
      [2_000, 196_608],
      [3_000, 262_144],
      [4_100, 327_680],
    ] as const) {
      now = at;
      progress(verified);
    }
    expect(notes).toEqual([
      'verified 196,608 of 1,000,000 entries (19 %) …',
      'verified 327,680 of 1,000,000 entries (32 %) …',
    ]);
  });
});

describe('sayRecoveryProgress', () => {
  it('announces the read of a large ledger before it begins, and not of a small one', () => {
    for (const [total, announced] of [
      [99_999, 0],
      [100_000, 1],
    ] as const) {
      const notes: string[] = [];
      sayRecoveryProgress({ note: (text) => notes.push(text) })({ read: 0, total });
      expect(notes).toHaveLength(announced);
    }
  });
});

describe('exitOnInterruptWhileStarting', () => {
  // A process of its own: the helper exits it.
  const script = (done: boolean) => `
    const { exitOnInterruptWhileStarting } = await import(${JSON.stringify(new URL('./exit.ts', import.meta.url).href)});
    const starting = exitOnInterruptWhileStarting((text) => process.stderr.write(text + '\\n'));
    ${done ? 'starting.done(); process.once("SIGINT", () => { process.stderr.write("the command\'s own handler\\n"); process.exit(0); });' : ''}
    process.kill(process.pid, 'SIGINT');
    setTimeout(() => process.exit(7), 10_000);
  `;
  const run = (done: boolean) =>
    spawnSync(process.execPath, ['--input-type=module', '-e', script(done)], { encoding: 'utf8' });

  it('says a start was interrupted and exits 130', () => {
    const r = run(false);
    expect(r.status).toBe(130);
    expect(r.stderr).toMatch(/^interrupted while starting: /);
  });

  it('leaves the signal to the command once the start is done', () => {
    const r = run(true);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/interrupted while starting/);
  });
});
