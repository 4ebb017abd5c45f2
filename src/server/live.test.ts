import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { openMesh, reloadPolicy } from '../runtime/index.js';
import { createLiveView, type FeedEvent, feedEventOf } from './live.js';

/** One ingress, one agent; roots have no target, so the approval's predicate fails on every one. */
function writeMesh(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-live-'));
  mkdirSync(join(dir, 'contracts'));
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: t',
      'agents:',
      '  a: { version: 1.0.0, module: ./a.mjs, consumes: [job.queued.v1] }',
      'ingress:',
      '  api: { emits: [job.queued.v1] }',
      'approvals:',
      `  - { id: addressed, when: 'msg.target == "a"', timeout: 1h }`,
      `  - { id: never, when: 'msg.hop > 100', timeout: 1h }`,
    ].join('\n'),
  );
  writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), '{ "type": "object" }');
  writeFileSync(join(dir, 'a.mjs'), 'export default { handle() {} };');
  return dir;
}

describe('live view: predicate errors are alerts', () => {
  it('sends an alert line per error, with the count of its rule, and keeps the latest per rule', async () => {
    const dir = writeMesh();
    const log = pino({ level: 'silent' });
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    const live = createLiveView(o.mesh);
    const lines: FeedEvent[] = [];
    live.subscribe((line) => lines.push(line));
    for (const n of [1, 2, 3])
      await o.mesh.inject('api', { type: 'job.queued.v1', subject: `job:${n}`, data: {} });
    await o.mesh.idle();
    const alerts = lines.filter((l) => l.kind === 'alert');
    expect(alerts.map((a) => [a.rule, a.alert, a.reason, a.count])).toEqual([
      ['addressed', 'predicate_error', 'approval.predicate_error', 1],
      ['addressed', 'predicate_error', 'approval.predicate_error', 2],
      ['addressed', 'predicate_error', 'approval.predicate_error', 3],
    ]);
    expect(live.alerts()).toEqual([alerts[2]]);
    expect(live.alerts()[0]?.detail).toContain('addressed');

    // A reload that fixes the rule clears its alert; the counts since start stay.
    const file = join(dir, 'mesh.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(`'msg.target == "a"'`, `'has(msg.target) && msg.target == "a"'`),
    );
    expect(await reloadPolicy(o.mesh)).toMatchObject({ ok: true, changed: true });
    expect(live.alerts()).toEqual([]);
    expect(o.mesh.counts().predicateErrors).toEqual({ addressed: 3 });
    live.close();
  });
});

describe('live view: drift alarms', () => {
  it('turns a drift.alarm into a feed line a pilot reads, naming the monitor, the version and the message', () => {
    const line = feedEventOf({
      type: 'alarm',
      at: Date.parse('2026-01-02T03:04:05Z'),
      event: 'drift.alarm',
      key: 'drift|optimizer-delta|optimizer@2.1.0',
      partition: 0,
      msgId: 'm1',
      rule: 'optimizer-delta',
      summary: 'drift optimizer-delta: optimizer@2.1.0 … drifted from 2.0.0',
      detail: {
        monitor: 'optimizer-delta',
        agent: 'optimizer@2.1.0',
        field: '/deltaPct',
        metric: 'psi',
        score: 2.7,
        threshold: 0.2,
        baseline: '2.0.0',
        action: 'freeze',
      },
    });
    expect(line).toEqual({
      kind: 'drift-alarm',
      at: '2026-01-02T03:04:05.000Z',
      id: 'm1',
      monitor: 'optimizer-delta',
      agent: 'optimizer@2.1.0',
      field: '/deltaPct',
      metric: 'psi',
      score: 2.7,
      threshold: 0.2,
      baseline: '2.0.0',
      action: 'freeze',
      summary: 'drift optimizer-delta: optimizer@2.1.0 … drifted from 2.0.0',
    });
  });
});

describe('live view: answers to holds', () => {
  it('says what was answered (its type and subject), by whom, how, and the pilot’s reason', () => {
    const line = feedEventOf({
      type: 'released',
      at: Date.parse('2026-01-02T03:04:05Z'),
      msgId: 'm1',
      outcome: 'deliver',
      by: 'pilot:ana',
      messageType: 'credit.issue',
      subject: 'account:3316',
      reason: 'checked with finance',
    });
    expect(line).toEqual({
      kind: 'released',
      at: '2026-01-02T03:04:05.000Z',
      id: 'm1',
      outcome: 'deliver',
      by: 'pilot:ana',
      type: 'credit.issue',
      subject: 'account:3316',
      reason: 'checked with finance',
    });
  });
});
