/**
 * The alarms raised outside the gate's own state changes: a remote agent's circuit opening (interop's
 * cockatiel circuit, through the CLI's transports) and an approval hold about to time out.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { alertingTransports } from '../src/cli/transports.js';
import { createAlertSinks } from '../src/interop/index.js';
import { openMesh, type Transport } from '../src/runtime/index.js';
import { type Answer, startReceiver } from './alert-receiver.js';
import { runCli, tempDir } from './run-cli.js';
import { call, startUp } from './up-process.js';

const log = pino({ level: 'silent' });

/**
 * A mesh: ingress `in` emits `job.v1` to agent `worker` (in-process, or at `workerUrl`), `lines`
 * added, and `alerts` with one webhook sink `hook` and the `alerts` lines.
 */
function writeMesh(
  hookUrl: string,
  lines: readonly string[],
  alerts: readonly string[],
  workerUrl?: string,
): string {
  const dir = tempDir('alert-events');
  mkdirSync(join(dir, 'contracts'));
  writeFileSync(join(dir, 'contracts', 'job.v1.json'), '{ "type": "object" }');
  writeFileSync(join(dir, 'worker.mjs'), 'export default { handle() {} };');
  const worker = workerUrl === undefined ? 'module: ./worker.mjs' : `url: "${workerUrl}"`;
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: jobs',
      'agents:',
      `  worker: { version: 1.0.0, ${worker}, consumes: [job.v1] }`,
      'ingress:',
      '  in: { emits: [job.v1] }',
      ...lines,
      'alerts:',
      ...alerts,
      '  sinks:',
      `    hook: { type: webhook, url: "${hookUrl}" }`,
    ].join('\n'),
  );
  return dir;
}

async function open(dir: string, transports: readonly Transport[] = []) {
  const opened = await openMesh({
    meshFile: join(dir, 'mesh.yaml'),
    dataDir: join(dir, 'data'),
    log,
    transports,
    retry: { attempts: 6, initialDelayMs: 1, maxDelayMs: 2 },
    alertSinks: (specs) => createAlertSinks(specs, { initialDelayMs: 5 }),
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  return opened.opened;
}

describe('alarms from outside the gate', () => {
  it('a remote agent whose circuit opens raises circuit.opened', async () => {
    const agentDown: Answer = (path) => (path === '/agent' ? 503 : 202);
    const rx = await startReceiver(agentDown);
    const routes = ['  routes:', '    - { id: remote, on: [circuit.opened], sink: hook, severity: error }'];
    const dir = writeMesh(`${rx.url}/hook`, [], routes, `${rx.url}/agent`);
    const alerting = alertingTransports();
    await using transports = alerting.transports;
    const o = await open(dir, transports.list);
    alerting.bind(o.mesh);
    await o.mesh.inject('in', { type: 'job.v1', subject: 'job:1', data: {} });
    await o.mesh.idle();
    const [hook] = await rx.waitFor('/hook', 1);
    expect(hook!.json).toMatchObject({
      type: 'io.meshwarden.alert.circuit.opened',
      data: { event: 'circuit.opened', key: 'agent worker', severity: 'error', detail: { failures: 5 } },
    });
    await o.close();
    await rx.close();
  });

  it('an approval hold still waiting holdExpiring before its timeout raises hold.expiring', async () => {
    const rx = await startReceiver();
    const dir = writeMesh(
      `${rx.url}/hook`,
      ['approvals:', '  - { id: all, when: \'msg.type == "job.v1"\', timeout: 2s }'],
      ['  holdExpiring: 1990ms', '  routes:', '    - { id: late, on: [hold.expiring], sink: hook }'],
    );
    const o = await open(dir);
    const entry = await o.mesh.inject('in', { type: 'job.v1', subject: 'job:2', data: {} });
    const [hook] = await rx.waitFor('/hook', 1);
    expect(hook!.json).toMatchObject({
      type: 'io.meshwarden.alert.hold.expiring',
      subject: 'job:2',
      data: { key: 'all|job:2', msgId: entry.msgId, rule: 'all', detail: { onTimeout: 'deny' } },
    });
    await o.close();
    await rx.close();
  });

  it('`up` raises ledger.verify_failed when a pilot verifies a tampered ledger', async () => {
    const rx = await startReceiver();
    const routes = [
      '  routes:',
      '    - { id: tamper, on: [ledger.verify_failed], sink: hook, severity: critical }',
    ];
    const dir = writeMesh(`${rx.url}/hook`, [], routes);
    const line = JSON.stringify({ source: 'in', type: 'job.v1', subject: 'job:1', data: { n: 1 } });
    writeFileSync(join(dir, 'jobs.jsonl'), `${line}\n`);
    const data = join(dir, 'data');
    const mesh = join(dir, 'mesh.yaml');
    const ran = await runCli(['run', mesh, '--input', join(dir, 'jobs.jsonl'), '--data', data]);
    expect(ran.code, ran.stderr).toBe(0);
    const up = await startUp([mesh, '--data', data]);
    try {
      const db = new DatabaseSync(join(data, 'ledger.db'));
      db.exec("UPDATE entries SET body = replace(body, 'job:1', 'job:7') WHERE kind = 'decision'");
      db.close();
      const verified = await call(up, up.token, 'POST', '/ledger/verify');
      expect(verified.body.lastVerify).toMatchObject({ ok: false });
      const [hook] = await rx.waitFor('/hook', 1);
      expect(hook!.json).toMatchObject({
        type: 'io.meshwarden.alert.ledger.verify_failed',
        data: { event: 'ledger.verify_failed', severity: 'critical', key: 'p0', detail: { partition: 0 } },
      });
    } finally {
      await up.stop();
      await rx.close();
    }
  });
});

describe('a crash between a dead letter and its alert', () => {
  it('a dead letter whose alert was never sent is alerted when the warden starts again, once per worker', async () => {
    const rx = await startReceiver();
    const routes = ['  routes:', '    - { id: letters, on: [dead-letter], sink: hook }'];
    const dir = writeMesh(`${rx.url}/hook`, [], routes);
    writeFileSync(join(dir, 'worker.mjs'), 'export default { handle() { throw new Error("boom"); } };');
    // First run with no sinks built: each dead letter's alert is recorded as failed, never sent.
    const first = await openMesh({
      meshFile: join(dir, 'mesh.yaml'),
      dataDir: join(dir, 'data'),
      log,
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
    });
    if (!first.ok) throw new Error(JSON.stringify(first));
    await first.opened.mesh.inject('in', { type: 'job.v1', subject: 'job:1', data: {} });
    const last = await first.opened.mesh.inject('in', { type: 'job.v1', subject: 'job:2', data: {} });
    await first.opened.mesh.idle();
    expect(first.opened.mesh.counts().deadLetters).toBe(2);
    await first.opened.close();

    const again = await open(dir);
    const [alert] = await rx.waitFor('/hook', 1);
    expect(alert!.json).toMatchObject({
      type: 'io.meshwarden.alert.dead-letter',
      subject: 'job:2',
      data: {
        key: 'worker@1.0.0',
        msgId: last.msgId,
        summary: expect.stringContaining('found when the warden restarted'),
      },
    });
    await again.close();
    const third = await open(dir);
    await third.mesh.idle();
    await third.close();
    expect(rx.on('/hook').length).toBe(1);
    await rx.close();
  });
});
