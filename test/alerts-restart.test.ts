/**
 * Alerts across a crash: an alarm raised and never sent (the process killed before its sink
 * answered) is sent when the warden starts again on the same data, once.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { feedFile, openMesh } from '../src/runtime/index.js';
import { ALERT_ENV as ENV, log, openWith, retentionWith } from './alert-mesh.js';
import { startReceiver } from './alert-receiver.js';

describe('a crash between an alarm and its alert', () => {
  it('a breaker open whose page was never sent is paged when the warden starts again, once', async () => {
    const rx = await startReceiver();
    const dir = retentionWith([
      '  sinks:',
      `    oncall: { type: pagerduty, routingKey: { env: MW_T_PD }, url: "${rx.url}/pd" }`,
      '  routes:',
      '    - { id: freezes, on: [breaker.opened, breaker.closed], sink: oncall, severity: critical }',
    ]);
    // First run with no sinks built: the opening's alert is recorded as failed, never sent.
    const first = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!first.ok) throw new Error(JSON.stringify(first));
    await feedFile(first.opened.mesh, join(dir, 'tickets.jsonl'), () => {}, new AbortController().signal);
    await first.opened.mesh.idle();
    await first.opened.close();
    expect(rx.on('/pd').length).toBe(0);

    const again = await openWith(dir, ENV);
    const [page] = await rx.waitFor('/pd', 1);
    expect(page!.json).toMatchObject({
      event_action: 'trigger',
      payload: { class: 'breaker.opened', component: 'account:8841' },
    });
    await again.close();
    const third = await openWith(dir, ENV);
    await third.mesh.idle();
    await third.close();
    expect(rx.on('/pd').length).toBe(1);
    await rx.close();
  });

  it('a hold still pending whose alert was never sent is alerted when the warden starts again, once per key', async () => {
    const rx = await startReceiver();
    const dir = retentionWith([
      '  sinks:',
      `    siem: { type: webhook, url: "${rx.url}/hook" }`,
      '  routes:',
      '    - { id: holds, on: [hold.created], sink: siem }',
    ]);
    // First run with no sinks built: each hold's alert is recorded as failed, never sent.
    const first = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!first.ok) throw new Error(JSON.stringify(first));
    await feedFile(first.opened.mesh, join(dir, 'tickets.jsonl'), () => {}, new AbortController().signal);
    await first.opened.mesh.idle();
    const held = first.opened.mesh.held();
    await first.opened.close();
    expect(held.length).toBeGreaterThan(0);
    const keys = new Set(held.map((h) => `${h.verdict.rule ?? h.verdict.reason}|${h.subject}`));

    const again = await openWith(dir, ENV);
    const alerts = await rx.waitFor('/hook', keys.size);
    expect(new Set(alerts.map((a) => (a.json as { data: { key: string } }).data.key))).toEqual(keys);
    expect(alerts[0]!.json).toMatchObject({
      type: 'io.meshwarden.alert.hold.created',
      data: { event: 'hold.created', summary: expect.stringContaining('found when the warden restarted') },
    });
    await again.close();
    const third = await openWith(dir, ENV);
    await third.mesh.idle();
    await third.close();
    expect(rx.on('/hook').length).toBe(keys.size);
    await rx.close();
  });

  it('an approval hold carried over a restart is still warned of before it times out, once', async () => {
    const rx = await startReceiver();
    const dir = retentionWith([
      '  holdExpiring: 15m',
      '  sinks:',
      `    siem: { type: webhook, url: "${rx.url}/hook" }`,
      '  routes:',
      '    - { id: expiring, on: [hold.expiring], sink: siem }',
    ]);
    const start = Date.now();
    // The first run ends long before the warning is due (big-credit waits 4 h).
    const first = await openWith(dir, ENV, [], { clock: () => start });
    await feedFile(first.mesh, join(dir, 'tickets.jsonl'), () => {}, new AbortController().signal);
    await first.mesh.idle();
    const held = first.mesh.held().filter((h) => h.verdict.rule === 'big-credit');
    await first.close();
    expect(held.length).toBeGreaterThan(0);
    expect(rx.on('/hook').length).toBe(0);

    // Started again 3 h 50 min later: the warning came due while the warden was down.
    const later = start + (3 * 60 + 50) * 60_000;
    const again = await openWith(dir, ENV, [], { clock: () => later });
    const [warning] = await rx.waitFor('/hook', 1);
    expect(warning!.json).toMatchObject({
      type: 'io.meshwarden.alert.hold.expiring',
      data: {
        event: 'hold.expiring',
        summary: expect.stringMatching(
          /is denied \(found when the warden restarted: its alert had not been sent\); it times out \(deny\) in about 10 min$/,
        ),
      },
    });
    await again.close();
    const third = await openWith(dir, ENV, [], { clock: () => later + 60_000 });
    await third.mesh.idle();
    await third.close();
    expect(rx.on('/hook').length).toBe(1);
    await rx.close();
  });
});
