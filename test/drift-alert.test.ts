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
function writeMesh(dir: string, hookUrl: string, version: string, shift: number): void {
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
      '  - { id: scorer-v, agent: scorer, type: score.v1, fields: [/v], minSamples: 30 }',
      'alerts:',
      '  routes:',
      '    - { id: drift, on: [drift.alarm], sink: hook, severity: warning }',
      '  sinks:',
      `    hook: { type: webhook, url: "${hookUrl}" }`,
    ].join('\n'),
  );
}

async function feed(dir: string, count: number): Promise<void> {
  const opened = await openMesh({
    meshFile: join(dir, 'mesh.yaml'),
    dataDir: join(dir, 'data'),
    log,
    alertSinks: (specs) => createAlertSinks(specs, { initialDelayMs: 5 }),
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  const { mesh } = opened.opened;
  for (let n = 0; n < count; n++)
    await mesh.inject('in', { type: 'job.v1', subject: `job:${n}`, data: { n } });
  await mesh.idle();
  await opened.opened.close();
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
        data: {
          event: 'drift.alarm',
          key: 'drift|scorer-v|scorer@1.1.0',
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
