import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { openMesh } from './open.js';

const log = pino({ level: 'silent' });
const T0 = Date.parse('2026-06-01T00:00:00Z');
const MIN = 60_000;

describe('a breaker past its cooldown', () => {
  it('shows closed at once, and is closed, with its alarm, by the next message for it', async () => {
    // That message trips it again (its window of 1h still counts the first two): news once more.
    const dir = mkdtempSync(join(tmpdir(), 'meshwarden-cooldown-'));
    mkdirSync(join(dir, 'contracts'));
    writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), '{ "type": "object" }');
    writeFileSync(join(dir, 'sink.mjs'), 'export default { handle() {} };');
    writeFileSync(
      join(dir, 'mesh.yaml'),
      [
        'mesh: t',
        'agents:',
        '  sink: { version: 1.0.0, module: ./sink.mjs, consumes: [job.queued.v1] }',
        'ingress:',
        '  api: { emits: [job.queued.v1] }',
        'breakers:',
        '  - { id: burst, scope: entity, when: { count: job.queued.v1, over: 1, window: 1h }, action: deny, cooldown: 1m }',
      ].join('\n'),
    );
    let now = T0;
    const opened = await openMesh({
      meshFile: join(dir, 'mesh.yaml'),
      dataDir: join(dir, 'data'),
      log,
      clock: () => now,
    });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    const alarms: string[] = [];
    o.mesh.onEvent((e) => {
      if (e.type === 'alarm') alarms.push(`${e.event} ${e.key}`);
    });
    const send = () => o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    await send();
    await send();
    await o.mesh.idle();
    expect(o.mesh.state.openBreakers().map((b) => b.key)).toEqual(['br|burst|job:1']);
    now = T0 + 2 * MIN;
    expect(o.mesh.state.openBreakers()).toEqual([]);
    await send();
    await o.mesh.idle();
    expect(alarms).toEqual([
      'breaker.opened br|burst|job:1',
      'breaker.closed br|burst|job:1',
      'breaker.opened br|burst|job:1',
    ]);
  });
});
