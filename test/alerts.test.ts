/**
 * Alerts end to end: the retention example with an `alerts:` section, real HTTP receivers on
 * loopback standing in for PagerDuty, Slack and a SIEM webhook, the SQLite ledger, and `why` read
 * by the built CLI.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertSinks } from '../src/interop/index.js';
import { ALERT_SENT, feedFile, type MeshEvent, openLedger, openMesh } from '../src/runtime/index.js';
import { ALERT_ENV as ENV, log, type OpenExtra, openWith, retentionWith } from './alert-mesh.js';
import { type Answer, type Receiver, startReceiver } from './alert-receiver.js';
import { runCli } from './run-cli.js';

describe('alerts from the retention example', () => {
  let rx: Receiver;
  beforeAll(async () => {
    rx = await startReceiver();
  });
  afterAll(() => rx.close());

  it('pages PagerDuty when 8841 freezes and resolves it when a pilot resets the breaker; Slack links the lineage; the webhook is signed CloudEvents; why shows it', async () => {
    const dir = retentionWith([
      '  console: http://warden.test:7070',
      '  sinks:',
      `    oncall: { type: pagerduty, routingKey: { env: MW_T_PD }, url: "${rx.url}/pd" }`,
      '    chat: { type: slack, url: { env: MW_T_SLACK } }',
      `    siem: { type: webhook, url: "${rx.url}/hook", secret: { env: MW_T_SECRET }, auth: { env: MW_T_PD, header: DD-API-KEY } }`,
      '  routes:',
      '    - { id: freezes, on: [breaker.opened, breaker.closed], sink: oncall, severity: critical }',
      '    - { id: chat, on: [breaker.opened], sink: chat, severity: critical }',
      '    - { id: audit, on: [breaker.opened], sink: siem, severity: warning }',
    ]);
    const env = { ...ENV, MW_T_SLACK: `${rx.url}/slack/T000/B000/secret` };
    const o = await openWith(dir, env);
    await feedFile(o.mesh, join(dir, 'tickets.jsonl'), () => {}, new AbortController().signal);
    await o.mesh.idle();

    const [trigger] = await rx.waitFor('/pd', 1);
    const pd = trigger!.json as {
      dedup_key: string;
      payload: { custom_details: { msgId: string } };
    };
    expect(pd).toMatchObject({ routing_key: 'pd-routing-key', event_action: 'trigger' });
    expect(pd.payload).toMatchObject({
      severity: 'critical',
      component: 'account:8841',
      class: 'breaker.opened',
    });
    const key = pd.dedup_key;
    // `<mesh>|<breaker key>`: another mesh on the same routing key resolves none of these.
    expect(key).toMatch(/^retention\|br\|[^|]+\|account:8841$/);
    const breaker = key.split('|')[2]!;

    const [slack] = await rx.waitFor('/slack/T000/B000/secret', 1);
    const s = slack!.json as { text: string; blocks: { text?: { text: string } }[] };
    const msgId = pd.payload.custom_details.msgId;
    const lineage = `http://warden.test:7070/#/message/${msgId}`;
    expect(s.text).toContain(lineage);
    expect(s.blocks.some((b) => b.text?.text.includes(`<${lineage}|`))).toBe(true);

    const [hook] = await rx.waitFor('/hook', 1);
    const signature = String(hook!.headers['meshwarden-signature']);
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature)!;
    const expected = createHmac('sha256', 'hook-secret').update(`${t}.${hook!.body}`).digest('hex');
    expect(v1).toBe(expected);
    expect(hook!.headers['dd-api-key']).toBe('pd-routing-key');
    expect(hook!.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    expect(hook!.json).toMatchObject({
      specversion: '1.0',
      type: 'io.meshwarden.alert.breaker.opened',
      source: 'mesh://retention/alerts',
      subject: 'account:8841',
      datacontenttype: 'application/json',
      data: {
        route: 'audit',
        severity: 'warning',
        key: key.replace(/^retention\|/, ''),
        msgId,
        link: lineage,
      },
    });

    const reset = o.mesh.pilot.resetBreaker(breaker, 'account:8841', { pilot: 'ana', reason: 'refunded' });
    if (!(reset instanceof Promise)) throw reset;
    await reset;
    const pages = await rx.waitFor('/pd', 2);
    expect(pages[1]!.json).toEqual({
      routing_key: 'pd-routing-key',
      event_action: 'resolve',
      dedup_key: key,
    });
    await o.close();

    const why = await runCli(['why', msgId, '--data', join(dir, 'data'), '--json']);
    expect(why.code, why.stderr).toBe(0);
    const outcomes = JSON.parse(why.stdout).chain.at(-1).outcomes as { kind: string; alert?: object }[];
    const alerts = outcomes.filter((x) => x.kind === ALERT_SENT).map((x) => x.alert);
    expect(alerts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ route: 'freezes', sink: 'oncall', outcome: 'sent', attempts: 1 }),
        expect.objectContaining({ route: 'chat', sink: 'chat', outcome: 'sent' }),
        expect.objectContaining({ route: 'audit', sink: 'siem', outcome: 'sent' }),
      ]),
    );
    const text = await runCli(['why', msgId, '--data', join(dir, 'data')]);
    expect(text.stdout).toMatch(/^alert: told sink oncall about /m);

    // A restart reads its alert.sent entries back and replays no alarm: nothing is paged again.
    const again = await openWith(dir, env);
    await again.mesh.idle();
    await again.close();
    expect(rx.on('/pd').length).toBe(2);
  });
});

/** Retention with one webhook route on breaker.opened, to a receiver that answers as `answer` says. */
async function freezeWithWebhook(answer: Answer, sink: string, events: MeshEvent[]) {
  const rx = await startReceiver(answer);
  const dir = retentionWith([
    '  sinks:',
    `    siem: { type: webhook, url: "${rx.url}/hook", secret: { env: MW_T_SECRET }, ${sink} }`,
    '  routes:',
    '    - { id: audit, on: [breaker.opened], sink: siem, severity: warning }',
  ]);
  const o = await openWith(dir, ENV, events);
  await feedFile(o.mesh, join(dir, 'tickets.jsonl'), () => {}, new AbortController().signal);
  await o.mesh.idle();
  await o.close();
  const entries = await (async () => {
    await using ledger = await openLedger({ file: join(dir, 'data', 'ledger.db') });
    return await Array.fromAsync(ledger.scan());
  })();
  await rx.close();
  return { rx, dir, entries: entries.filter((e) => e.kind === ALERT_SENT) };
}

describe('a webhook receiver that fails', () => {
  it('500s, then a hang past the timeout, then recovers: retried, then delivered once', async () => {
    const events: MeshEvent[] = [];
    const answer: Answer = (_, n) => (n < 2 ? 500 : n === 2 ? 'hang' : 204);
    const { rx, entries } = await freezeWithWebhook(answer, 'retries: 3, timeout: 300ms', events);
    expect(rx.on('/hook').length).toBe(4);
    // Every try carries the same CloudEvent: a receiver deduplicates on its id.
    expect(new Set(rx.on('/hook').map((r) => (r.json as { id: string }).id)).size).toBe(1);
    expect(entries.map((e) => [e.data.outcome, e.data.attempts])).toEqual([['sent', 4]]);
    const delivery = events.filter((e) => e.type === 'alert-delivery');
    expect(delivery).toEqual([expect.objectContaining({ route: 'audit', outcome: 'sent', attempts: 4 })]);
  });

  it('never recovers: given up after its last try, recorded, and a dead letter pilots see', async () => {
    const events: MeshEvent[] = [];
    const { rx, dir, entries } = await freezeWithWebhook(() => 503, 'retries: 2', events);
    expect(rx.on('/hook').length).toBe(3);
    expect(entries).toEqual([
      expect.objectContaining({
        msgId: expect.any(String),
        data: expect.objectContaining({
          route: 'audit',
          sink: 'siem',
          event: 'breaker.opened',
          outcome: 'failed',
          attempts: 3,
          error: expect.objectContaining({ code: 'MW_INTEROP_ALERT_SEND' }),
        }),
      }),
    ]);
    const dead = events.filter((e) => e.type === 'dead-letter');
    expect(dead).toEqual([
      expect.objectContaining({
        worker: 'alert:audit',
        code: 'MW_INTEROP_ALERT_SEND',
        msgId: entries[0]!.msgId,
      }),
    ]);
    expect(events.filter((e) => e.type === 'alert-delivery')).toEqual([
      expect.objectContaining({ outcome: 'failed', attempts: 3 }),
    ]);
    // `why` says why the pilot was not told, not only that they were not.
    const why = await runCli(['why', entries[0]!.msgId!, '--data', join(dir, 'data'), '--json']);
    expect(why.code, why.stderr).toBe(0);
    const outcomes = JSON.parse(why.stdout).chain.at(-1).outcomes as { kind: string; alert?: object }[];
    expect(outcomes.filter((x) => x.kind === ALERT_SENT).map((x) => x.alert)).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        error: expect.objectContaining({ code: 'MW_INTEROP_ALERT_SEND' }),
      }),
    ]);
    const text = await runCli(['why', entries[0]!.msgId!, '--data', join(dir, 'data')]);
    expect(text.stdout).toMatch(/^alert: could not tell sink siem about .*: MW_INTEROP_ALERT_SEND: /m);
  });
});

/** Freezes 8841, then sends it 1,000 tickets (each held: `hold.created`) with the given alerts lines. */
async function storm(
  alerts: (url: string) => string[],
  answer?: Answer,
  settle: (rx: Receiver) => Promise<unknown> = async () => {},
  extra: OpenExtra = {},
) {
  const rx = await startReceiver(answer);
  const dir = retentionWith(alerts(rx.url));
  const events: MeshEvent[] = [];
  const o = await openWith(dir, ENV, events, extra);
  const frozen = o.mesh.pilot.freeze('account:8841', { pilot: 'ana', reason: 'storm drill' });
  if (!(frozen instanceof Promise)) throw frozen;
  await frozen;
  const text = 'The app keeps crashing and I am angry.';
  await Promise.all(
    Array.from({ length: 1000 }, () =>
      o.mesh.inject('inbox', { type: 'ticket.opened.v1', subject: 'account:8841', data: { text } }),
    ),
  );
  await o.mesh.idle();
  await settle(rx);
  await o.close();
  await rx.close();
  const entries = await (async () => {
    await using ledger = await openLedger({ file: join(dir, 'data', 'ledger.db') });
    return await Array.fromAsync(ledger.scan({ kinds: [ALERT_SENT] }));
  })();
  const outcomes = events.filter((e) => e.type === 'alert-delivery');
  return { rx, entries, outcomes };
}

describe('a storm', () => {
  it('1,000 held messages make a bounded number of requests, and the rest are counted', async () => {
    // The mesh's clock stands still, so the rate's burst is all it allows.
    const frozen = Date.now();
    const { rx, entries, outcomes } = await storm(
      (url) => [
        '  sinks:',
        `    siem: { type: webhook, url: "${url}/storm" }`,
        '  routes:',
        '    - { id: holds, on: [hold.created], sink: siem, rate: 5/min, dedupe: 0 }',
      ],
      undefined,
      undefined,
      { clock: () => frozen },
    );
    expect(rx.on('/storm').length).toBe(5);
    expect(outcomes.filter((e) => e.outcome === 'sent').length).toBe(5);
    expect(outcomes.filter((e) => e.outcome === 'suppressed').length).toBe(995);
    expect(entries.length).toBe(5);
  });

  it('1,000 held messages of one subject and rule are one alert within the dedupe window, the rest counted', async () => {
    const frozen = Date.now();
    const { rx, outcomes } = await storm(
      (url) => [
        '  sinks:',
        `    siem: { type: webhook, url: "${url}/storm" }`,
        '  routes:',
        '    - { id: holds, on: [hold.created], sink: siem }',
      ],
      undefined,
      undefined,
      { clock: () => frozen },
    );
    expect(rx.on('/storm').length).toBe(1);
    expect(outcomes.filter((e) => e.reason === 'duplicate').length).toBe(999);
  });

  it('once the rate allows, the latest held alert is sent with the count: every held one is reported', async () => {
    /** Alerts received, plus the held-back counts they carry. */
    const told = (rx: Receiver) =>
      rx
        .on('/storm')
        .reduce((n, r) => n + 1 + (r.json as { data: { suppressed: number } }).data.suppressed, 0);
    const { rx } = await storm(
      (url) => [
        '  sinks:',
        `    siem: { type: webhook, url: "${url}/storm" }`,
        '  routes:',
        '    - { id: holds, on: [hold.created], sink: siem, rate: 4/s, dedupe: 0 }',
      ],
      undefined,
      async (rx) => {
        // Bounded: 1,000 at 4/s is told within a few catch-ups; the expect below says if not.
        for (let i = 0; i < 1500 && told(rx) < 1000; i++) await new Promise((r) => setTimeout(r, 20));
      },
    );
    expect(told(rx)).toBe(1000);
    expect(rx.on('/storm').at(-1)!.json).toMatchObject({ data: { suppressed: expect.any(Number) } });
  });

  it('a full queue in front of a receiver that never answers: the overflow is recorded and counted, and close aborts what is in flight and records it', async () => {
    const { rx, entries, outcomes } = await storm(
      (url) => [
        '  queue: 2',
        '  sinks:',
        `    siem: { type: webhook, url: "${url}/slow", timeout: 10m, retries: 0 }`,
        '  routes:',
        '    - { id: holds, on: [hold.created], sink: siem, dedupe: 0 }',
      ],
      () => 'hang',
      undefined,
      { alertCloseWaitMs: 50 },
    );
    // Four in flight reach the receiver; two wait in the queue; the rest overflow. Closing aborts
    // the four and the two, each recorded as failed before the ledger closes.
    expect(rx.on('/slow').length).toBe(4);
    expect(
      entries.filter((e) => e.data.outcome === 'failed').map((e) => (e.data.error as { code: string }).code),
    ).toEqual(Array(6).fill('MW_INTEROP_ALERT_SEND'));
    const by = (outcome: string) => entries.filter((e) => e.data.outcome === outcome).length;
    expect([by('failed'), by('overflow')]).toEqual([6, 994]);
    expect(outcomes.filter((e) => e.reason === 'overflow').length).toBe(994);
  });
});

describe('alert mistakes', () => {
  it('a sink whose secret is not in the environment fails the start with a typed error', async () => {
    const dir = retentionWith([
      '  sinks:',
      '    oncall: { type: pagerduty, routingKey: { env: MW_T_UNSET } }',
      '  routes:',
      '    - { id: freezes, on: [breaker.opened], sink: oncall }',
    ]);
    const opened = await openMesh({
      meshFile: join(dir, 'mesh.yaml'),
      dataDir: join(dir, 'data'),
      log,
      alertSinks: (specs) => createAlertSinks(specs, { env: {} }),
    });
    expect(opened.ok).toBe(false);
    if (opened.ok) return;
    expect(opened.errors?.map((e) => e.code)).toEqual(['MW_INTEROP_ALERT_ENV']);
  });

  it('`policy check` names an unknown sink and event at file:line:col', async () => {
    const dir = retentionWith([
      '  sinks:',
      '    oncall: { type: pagerduty, routingKey: { env: PD_KEY } }',
      '  routes:',
      '    - { id: freezes, on: [breaker.tripped], sink: pager }',
    ]);
    const file = join(dir, 'mesh.yaml');
    const lines = readFileSync(file, 'utf8').split('\n');
    const line = lines.findIndex((l) => l.includes('breaker.tripped')) + 1;
    const check = await runCli(['policy', 'check', file, '--json']);
    expect(check.code).toBe(1);
    const issues = JSON.parse(check.stdout).issues as { code: string; line: number; col: number }[];
    const at = (needle: string) => lines[line - 1]!.indexOf(needle) + 1;
    expect(issues.map((i) => [i.code, i.line, i.col])).toEqual([
      ['MW_POLICY_BAD_VALUE', line, at('breaker.tripped')],
      ['MW_POLICY_UNKNOWN_REFERENCE', line, at('pager')],
    ]);
  });
});
