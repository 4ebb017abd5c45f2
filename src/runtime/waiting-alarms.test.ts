import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { MeshEvent } from './events.js';
import { waitingAlarms } from './waiting-alarms.js';

const NOW = 1_700_000_000_000;

/** A held queue over a fixed clock, what it published, and its log lines parsed. */
function held(now = () => NOW) {
  const published: MeshEvent[] = [];
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const queue = waitingAlarms((e) => published.push(e), now, pino({ level: 'info' }, sink));
  return { queue, published, lines };
}

const verifyFailed = (key: string, summary = 'the ledger failed verification') =>
  ({ event: 'ledger.verify_failed', key, summary }) as const;

describe('waitingAlarms', () => {
  it('raises what waits in the first partition the node takes, each at the time it was raised, once', () => {
    let now = NOW;
    const { queue, published } = held(() => now);
    queue.hold(verifyFailed('p0'));
    now += 5_000;
    queue.hold(verifyFailed('p3'));
    expect(published).toEqual([]);
    now += 200;
    queue.raiseIn(2);
    // Each at the time it was raised; one held a second or more says so in its summary.
    expect(published).toMatchObject([
      {
        type: 'alarm',
        at: NOW,
        partition: 2,
        key: 'p0',
        summary: 'the ledger failed verification (held 5 s: this node owned no partition to record it in)',
      },
      { type: 'alarm', at: NOW + 5_000, partition: 2, key: 'p3', summary: 'the ledger failed verification' },
    ]);
    queue.raiseIn(3);
    expect(published).toHaveLength(2);
  });

  it('keeps the latest of an event and key, and at most 100 alarms, dropping the oldest', () => {
    const { queue, published } = held();
    queue.hold(verifyFailed('p0', 'first'));
    queue.hold(verifyFailed('p0', 'again'));
    for (let i = 1; i <= 100; i++) queue.hold(verifyFailed(`p${i}`));
    queue.raiseIn(0);
    expect(published).toHaveLength(100);
    expect(published.map((e) => (e as { key: string }).key)).not.toContain('p0');
    const { queue: again, published: out } = held();
    again.hold(verifyFailed('p0', 'first'));
    again.hold(verifyFailed('p0', 'again'));
    again.raiseIn(0);
    expect(out).toMatchObject([{ key: 'p0', summary: 'again' }]);
  });

  it('says at info what it holds, and at warn what it never raised when the node closes', () => {
    const { queue, lines } = held();
    queue.hold(verifyFailed('p0'));
    queue.close();
    expect(lines.map((l) => l.level)).toEqual([30, 40]);
    expect(lines[1]).toMatchObject({ alarms: [{ at: NOW, event: 'ledger.verify_failed', key: 'p0' }] });
    queue.close();
    expect(lines).toHaveLength(2);
  });
});
