import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AlertSink } from './alert-sink.js';
import { openMesh } from './open.js';
import { reloadPolicy } from './reload-policy.js';

const log = pino({ level: 'silent' });

/** A mesh with these alert sinks and routes. */
function meshYaml(sinks: readonly string[], routes: readonly string[]): string {
  return [
    'mesh: t',
    'agents:',
    '  sink: { version: 1.0.0, module: ./sink.mjs, consumes: [job.queued.v1] }',
    'ingress:',
    '  api: { emits: [job.queued.v1] }',
    'contracts: ./contracts',
    'alerts:',
    '  sinks:',
    ...sinks.map((s) => `    ${s}`),
    '  routes:',
    ...routes.map((r) => `    - ${r}`),
    '',
  ].join('\n');
}

const ops = 'ops: { type: webhook, url: http://127.0.0.1:9/ops }';
const opsRoute = '{ id: freezes, on: [breaker.opened], sink: ops, severity: critical }';

async function openWith(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-reload-'));
  writeFileSync(join(dir, 'mesh.yaml'), yaml);
  mkdirSync(join(dir, 'contracts'));
  writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), JSON.stringify({ type: 'object' }));
  writeFileSync(join(dir, 'sink.mjs'), 'export default { handle() {} };');
  const sink: AlertSink = { send: async () => ({ ok: true, attempts: 1 }) };
  const opened = await openMesh({
    meshFile: join(dir, 'mesh.yaml'),
    dataDir: join(dir, 'data'),
    log,
    alertSinks: (specs) => new Map([...specs.keys()].map((name) => [name, sink])),
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  return { dir, opened: opened.opened };
}

describe('reloadPolicy and alert sinks', () => {
  it('warns, at the route’s sink in the file, of a sink added or changed since the start', async () => {
    const { dir, opened } = await openWith(meshYaml([ops], [opsRoute]));
    await using o = opened;
    const siem = 'siem: { type: webhook, url: http://127.0.0.1:9/siem }';
    const siemRoute = '{ id: audit, on: [dead-letter], sink: siem, severity: error }';
    writeFileSync(join(dir, 'mesh.yaml'), meshYaml([ops, siem], [opsRoute, siemRoute]));
    const added = await reloadPolicy(o.mesh);
    expect(added.ok && added.warnings).toEqual([
      expect.objectContaining({
        code: 'MW_RUNTIME_ALERT_SINK',
        // The 13th line: `    - { id: audit, on: [dead-letter], sink: siem, … }`, at `siem`.
        line: 13,
        col: 45,
        pointer: '/alerts/routes/1/sink',
      }),
    ]);
    // Its spec changed since the start: the route to it is warned of too.
    const moved = 'ops: { type: webhook, url: http://127.0.0.1:9/elsewhere }';
    writeFileSync(join(dir, 'mesh.yaml'), meshYaml([moved], [opsRoute]));
    const changed = await reloadPolicy(o.mesh);
    expect(changed.ok && changed.warnings?.map((w) => [w.code, w.pointer])).toEqual([
      ['MW_RUNTIME_ALERT_SINK', '/alerts/routes/0/sink'],
    ]);
    // The same file again changes nothing, and still says the route cannot reach its sink.
    const again = await reloadPolicy(o.mesh);
    expect(again).toMatchObject({ ok: true, changed: false });
    expect(again.ok && again.warnings?.map((w) => w.pointer)).toEqual(['/alerts/routes/0/sink']);
  });

  it('says nothing of sinks the process started with, whatever else the reload changes', async () => {
    const { dir, opened } = await openWith(meshYaml([ops], [opsRoute]));
    await using o = opened;
    const warning = '{ id: freezes, on: [breaker.opened, breaker.closed], sink: ops, severity: warning }';
    writeFileSync(join(dir, 'mesh.yaml'), meshYaml([ops], [warning]));
    const reloaded = await reloadPolicy(o.mesh);
    expect(reloaded).toMatchObject({ ok: true, changed: true });
    expect(reloaded.ok && reloaded.warnings).toBeUndefined();
  });
});
