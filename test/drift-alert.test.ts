/**
 * A drift monitor's alarm reaches an alert route (docs/alerts.md, `drift.alarm`): a webhook hears
 * it once a new version of an agent emits values far from its previous version's.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createAlertSinks } from '../src/interop/index.js';
import { type Ledger, openLedger } from '../src/ledger/index.js';
import { loadPolicy } from '../src/policy/index.js';
import { createMesh, loadModules, openMesh } from '../src/runtime/index.js';
import { startReceiver } from './alert-receiver.js';
import { tempDir } from './run-cli.js';

const log = pino({ level: 'silent' });

/** Agent `scorer` at `version` emits `score.v1` with `v = n + shift`; a drift monitor on /v. */
function writeMesh(dir: string, hookUrl: string, version: string, shift: number, action = 'alert'): void {
  writeFileSync(
    join(dir, `scorer-${version}.mjs`),
    `export default { handle(msg, ctx) { ctx.emit('score.v1', { v: msg.data.n + ${shift} }); } };`,
  );
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: scores',
      'agents:',
      `  scorer: { version: ${version}, module: ./scorer-${version}.mjs, consumes: [job.v1], emits: [score.v1] }`,
      'ingress:',
      '  in: { emits: [job.v1] }',
      'drift:',
      `  - { id: scorer-v, agent: scorer, type: score.v1, fields: [/v], minSamples: 30, action: ${action} }`,
      'alerts:',
      '  routes:',
      '    - { id: drift, on: [drift.alarm], sink: hook, severity: warning }',
      '  sinks:',
      `    hook: { type: webhook, url: "${hookUrl}" }`,
    ].join('\n'),
  );
}

async function feed(dir: string, count: number): Promise<void> {
  const mesh = await open(dir);
  await send(mesh.mesh, 0, count);
  await mesh.close();
}

async function open(dir: string) {
  const opened = await openMesh({
    meshFile: join(dir, 'mesh.yaml'),
    dataDir: join(dir, 'data'),
    log,
    alertSinks: (specs) => createAlertSinks(specs, { initialDelayMs: 5 }),
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  return opened.opened;
}

type Opened = Awaited<ReturnType<typeof open>>;

async function send(mesh: Opened['mesh'], from: number, count: number): Promise<void> {
  for (let n = from; n < from + count; n++)
    await mesh.inject('in', { type: 'job.v1', subject: `job:${n}`, data: { n: n % 60 } });
  await mesh.idle();
}

describe('drift.alarm alerts', () => {
  it('tells the route once when a new version drifts', async () => {
    const rx = await startReceiver();
    const dir = tempDir('drift-alert');
    mkdirSync(join(dir, 'contracts'));
    writeFileSync(join(dir, 'contracts', 'job.v1.json'), '{ "type": "object" }');
    writeFileSync(join(dir, 'contracts', 'score.v1.json'), '{ "type": "object" }');
    try {
      writeMesh(dir, `${rx.url}/hook`, '1.0.0', 0);
      await feed(dir, 60);
      writeMesh(dir, `${rx.url}/hook`, '1.1.0', 100);
      await feed(dir, 60);
      const [hook] = await rx.waitFor('/hook', 1);
      expect(hook!.json).toMatchObject({
        type: 'io.meshwarden.alert.drift.alarm',
        subject: 'scorer',
        data: {
          event: 'drift.alarm',
          key: expect.stringMatching(/^drift\|scorer-v\|scorer@1\.1\.0\|\d+$/),
          severity: 'warning',
          rule: 'scorer-v',
          detail: {
            monitor: 'scorer-v',
            baseline: '1.0.0',
            current: '1.1.0',
            metric: 'psi',
            currentCount: 30,
          },
        },
      });
      expect(rx.received.filter((r) => r.path === '/hook')).toHaveLength(1);
    } finally {
      await rx.close();
    }
  });

  it('tells the route again when the version drifts again after a pilot reset, inside its dedupe window', async () => {
    const rx = await startReceiver();
    const dir = tempDir('drift-realarm');
    mkdirSync(join(dir, 'contracts'));
    writeFileSync(join(dir, 'contracts', 'job.v1.json'), '{ "type": "object" }');
    writeFileSync(join(dir, 'contracts', 'score.v1.json'), '{ "type": "object" }');
    try {
      writeMesh(dir, `${rx.url}/hook`, '1.0.0', 0, 'freeze');
      await feed(dir, 60);
      writeMesh(dir, `${rx.url}/hook`, '1.1.0', 100, 'freeze');
      const opened = await open(dir);
      try {
        await send(opened.mesh, 0, 60);
        const [first] = await rx.waitFor('/hook', 1);
        const reset = await opened.mesh.pilot.resetBreaker('scorer-v', 'scorer', {
          pilot: 'ana',
          reason: 'looked',
        });
        expect(reset).toMatchObject({ kind: 'pilot.action', data: { action: 'reset' } });
        await send(opened.mesh, 60, 60);
        const hooks = await rx.waitFor('/hook', 2);
        const keys = hooks.map((h) => (h.json as { data: { key: string } }).data.key);
        expect(keys[0]).toBe((first!.json as { data: { key: string } }).data.key);
        expect(keys[1]).not.toBe(keys[0]);
        expect(keys[1]).toMatch(/^drift\|scorer-v\|scorer@1\.1\.0\|\d+$/);
      } finally {
        await opened.close();
      }
    } finally {
      await rx.close();
    }
  });
});

describe('drift.alarm entries', () => {
  it('are appended in the same atomic group as the decision that raised them', async () => {
    const dir = tempDir('drift-group');
    mkdirSync(join(dir, 'contracts'));
    writeFileSync(join(dir, 'contracts', 'job.v1.json'), '{ "type": "object" }');
    writeFileSync(join(dir, 'contracts', 'score.v1.json'), '{ "type": "object" }');
    const real = openLedger({ file: join(dir, 'ledger.db'), origin: 't' });
    // The real ledger, with every append's group of kinds written down.
    const groups: string[][] = [];
    const ledger: Ledger = {
      ...real,
      append: (r, p) => {
        groups.push([r.kind]);
        return real.append(r, p);
      },
      appendAll: (rs, p, accepted) => {
        groups.push(rs.map((r) => r.kind));
        return real.appendAll(rs, p, accepted);
      },
    };
    try {
      for (const [version, shift] of [
        ['1.0.0', 0],
        ['1.1.0', 100],
      ] as const) {
        writeMesh(dir, 'http://127.0.0.1:9/none', version, shift);
        const loaded = await loadPolicy(join(dir, 'mesh.yaml'));
        if (!loaded.ok) throw new Error(JSON.stringify(loaded));
        const modules = await loadModules(loaded.policy);
        if (!modules.ok) throw new Error(JSON.stringify(modules));
        const mesh = createMesh({ policy: loaded.policy, ledger, modules: modules.modules, log });
        await mesh.recover();
        for (let n = 0; n < 60; n++)
          await mesh.inject('in', { type: 'job.v1', subject: `job:${version}:${n}`, data: { n } });
        await mesh.idle();
        await mesh.close();
      }
      const withAlarm = groups.filter((g) => g.includes('drift.alarm'));
      expect(withAlarm).toEqual([['decision', 'drift.alarm']]);
      expect(groups.filter((g) => g.length === 1 && g[0] === 'drift.alarm')).toEqual([]);
    } finally {
      await real.close();
    }
  });
});
