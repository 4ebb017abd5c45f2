import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedEvent } from '../console/src/api/types.js';
import { createFeedTally } from '../console/src/live/feed-tally.js';
import { createSseParser, type SseMessage } from '../console/src/live/sse-parser.js';
import { type ConsoleBrowser, openBrowser } from './browser.js';
import { retentionConsole } from './retention-console.js';
import { tempDir } from './run-cli.js';
import { call, startUp, type UpProcess, until } from './up-process.js';

describe('web console in a real browser against a real `up` process', () => {
  const c = retentionConsole('console', { signIn: false });
  const { testid, holds, shot } = c;

  it('signs in from the printed console address, hides the token, and draws the mesh', async () => {
    expect(c.up.console).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=/);
    await c.page.goto(c.up.console);
    await testid('mesh-graph').waitFor();
    expect(c.page.url()).not.toContain('token');
    expect(await c.page.evaluate(() => sessionStorage.length)).toBe(1);
    const kinds = await testid('mesh-node').evaluateAll((nodes) =>
      nodes.map((n) => n.getAttribute('data-kind')),
    );
    expect(kinds.sort()).toEqual(['agent', 'agent', 'agent', 'effect', 'effect', 'ingress']);
    expect(await testid('mesh-edge').count()).toBe(5);
    await expect
      .poll(() => c.page.locator('[data-counter="effects-executed"] .counter-value').textContent())
      .not.toBe('…');
    await shot('mesh');
  });

  it('shows account:8841 frozen by the loop guard', async () => {
    await testid('nav-breakers').click();
    await c.page.locator('[data-testid="frozen-subject"][data-subject="account:8841"]').waitFor();
    const row = c.page.locator('[data-testid="breaker-row"][data-key="account:8841"]');
    expect(await row.getAttribute('data-breaker-id')).toBe('loop');
    await shot('breakers-frozen');
  });

  it('approves the held 60 EUR credit of account:3316 with a reason, and it leaves the queue', async () => {
    await testid('nav-held').click();
    const card = c.page.locator('[data-testid="hold-card"][data-subject="account:3316"]');
    await card.waitFor();
    expect(await card.getByTestId('hold-type').textContent()).toBe('credit.issue');
    expect(await card.getByTestId('hold-why').textContent()).toContain('big-credit');
    expect(await card.getByTestId('hold-predicate').textContent()).toContain('msg.data.amount > 50');
    expect(await card.getByTestId('hold-countdown').textContent()).toMatch(/^denied in \d+h \d+m$/);
    const holdId = (await card.getAttribute('data-hold-id'))!;
    await shot('held-queue');

    await card.getByTestId('approve-button').click();
    // An empty reason is refused before anything is sent.
    await card.getByTestId('reason-input').fill('   ');
    await card.getByTestId('confirm-button').click();
    await card.getByTestId('api-error').waitFor();
    expect((await holds()).some((h) => h.id === holdId)).toBe(true);

    await card.getByTestId('reason-input').fill('checked with finance: enterprise contract');
    await shot('held-approve-reason');
    await card.getByTestId('confirm-button').click();
    await card.waitFor({ state: 'detached' });
    expect((await holds()).some((h) => h.id === holdId)).toBe(false);
    await shot('held-after-approve');

    // The approval is part of the credit's lineage, with the pilot's name.
    await c.page.goto(`${c.up.url}/#/message/${holdId}`);
    const released = c.page.locator(
      `[data-testid="why-chain"] [data-message-id="${holdId}"] [data-testid="chain-outcome"][data-kind="hold.released"]`,
    );
    await expect.poll(() => released.textContent()).toContain('approved by pilot admin');
  });

  it('offers a viewer no answer the warden would refuse', async () => {
    const viewer = await c.call('POST', '/tokens', { name: 'vera', role: 'viewer' });
    expect(viewer.status).toBe(201);
    const other = await c.browser.browser.newPage();
    try {
      await other.goto(`${c.up.url}/#token=${viewer.body.token}`);
      await expect.poll(() => other.getByTestId('session').getAttribute('data-role')).toBe('viewer');
      await other.getByTestId('nav-held').click();
      const card = other.locator('[data-testid="hold-card"][data-subject="account:8841"]');
      expect(await card.getByTestId('reject-button').isDisabled()).toBe(true);
      // What the button would have asked, the warden refuses.
      const id = await card.getAttribute('data-hold-id');
      const refused = await call(c.up, viewer.body.token, 'POST', `/holds/${id}/reject`, { reason: 'x' });
      expect(refused.body.error.code).toBe('MW_API_FORBIDDEN');
    } finally {
      await other.close();
    }
  });

  it('sends a refused token back to the sign-in form, and signs in with a pasted one', async () => {
    const other = await c.browser.browser.newPage();
    try {
      await other.goto(`${c.up.url}/#token=mw_not-a-token`);
      await other.getByTestId('sign-in-notice').waitFor();
      await other.getByTestId('token-input').fill(c.admin);
      await other.getByTestId('sign-in-button').click();
      await other.getByTestId('mesh-graph').waitFor();
    } finally {
      await other.close();
    }
  });

  it('unfreezes account:8841 with a reason', async () => {
    await c.page.goto(`${c.up.url}/#/breakers`);
    const frozen = c.page.locator('[data-testid="frozen-subject"][data-subject="account:8841"]');
    await frozen.getByTestId('unfreeze-button').click();
    await frozen.getByTestId('reason-input').fill('loop fixed: the inbox no longer ingests our own mail');
    await frozen.getByTestId('confirm-button').click();
    await testid('frozen-empty').waitFor();
    await testid('breakers-empty').waitFor();
    expect((await c.call('GET', '/breakers')).body.frozen).toEqual([]);
    await shot('breakers-after-unfreeze');
  });

  it('freezes a subject by hand and resets the breaker that holds it', async () => {
    await testid('freeze-subject-input').fill('account:7777');
    await testid('freeze-reason-input').fill('customer reported a stolen card');
    await testid('freeze-button').click();
    // No message was ever about account:7777: the form asks once more before freezing it.
    await testid('freeze-unheard').waitFor();
    await testid('freeze-button').click();
    const row = c.page.locator('[data-testid="breaker-row"][data-key="account:7777"]');
    await row.waitFor();
    await c.page.locator('[data-testid="frozen-subject"][data-subject="account:7777"]').waitFor();
    await shot('breakers-pilot-freeze');
    await row.getByTestId('reset-button').click();
    await row.getByTestId('reason-input').fill('card replaced');
    await row.getByTestId('confirm-button').click();
    await row.waitFor({ state: 'detached' });
    // The reset is confirmed in words, as the freeze was.
    await testid('breakers-done').waitFor();
    expect((await c.call('GET', '/breakers')).body.frozen).toEqual([]);
  });

  it('finds account:8841 and draws the lineage of one of its credits', async () => {
    await testid('nav-search').click();
    await testid('search-input').fill('account:8841');
    await testid('search-input').press('Enter');
    const credit = c.page.locator('[data-testid="search-result"][data-type="credit.issue"]').first();
    await credit.waitFor();
    const creditId = (await credit.getAttribute('data-message-id'))!;
    await shot('search');
    await credit.click();

    await testid('lineage-graph').waitFor();
    expect(c.page.url()).toContain(`#/message/${creditId}`);
    const selected = c.page.locator(`[data-testid="lineage-node"][data-message-id="${creditId}"]`);
    expect(await selected.getAttribute('data-selected')).toBe('true');
    // Root ticket → scored → assessed → credit at least, joined by causation arrows.
    expect(await testid('lineage-node').count()).toBeGreaterThanOrEqual(4);
    expect(await testid('lineage-edge').count()).toBe((await testid('lineage-node').count()) - 1);
    const hops = await c.page.locator('[data-testid="why-chain"] [data-testid="chain-row"]').count();
    expect(hops).toBeGreaterThanOrEqual(4);
    await shot('lineage');
  });

  it('verifies the ledger on demand', async () => {
    await testid('nav-ledger').click();
    await testid('verify-button').click();
    await expect.poll(() => testid('verify-status').getAttribute('data-ok')).toBe('true');
    await shot('ledger');
  });

  it('shows new decisions in the live feed', async () => {
    await testid('nav-live').click();
    await expect.poll(() => testid('feed-state').textContent()).toContain('live');
    const sent = await c.call('POST', '/messages', {
      type: 'ticket.opened.v1',
      subject: 'account:4242',
      data: { text: 'Love the new dashboard, thanks!' },
    });
    expect(sent.status).toBe(202);
    await c.page.locator(`[data-testid="feed-row"][data-message-id="${sent.body.id}"]`).waitFor();
    await shot('live-feed');
    await c.page.locator(`[data-testid="feed-row"][data-message-id="${sent.body.id}"]`).click();
    await testid('lineage-graph').waitFor();
    expect(c.pageErrors).toEqual([]);
  });
});

/** A mesh whose approval passes the load-time check but fails on every root: roots have no target. */
function writeAlertMesh(): { mesh: string; input: string } {
  const dir = tempDir('console-alert');
  mkdirSync(join(dir, 'contracts'));
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: alerting',
      'agents:',
      '  worker: { version: 1.0.0, module: ./worker.mjs, consumes: [job.queued.v1] }',
      'ingress:',
      '  api: { emits: [job.queued.v1] }',
      'approvals:',
      `  - { id: addressed, when: 'msg.type == "job.queued.v1" && msg.target == "worker"', timeout: 1h }`,
    ].join('\n'),
  );
  writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), '{ "type": "object" }');
  writeFileSync(join(dir, 'worker.mjs'), 'export default { handle() {} };');
  const line = (n: number) =>
    JSON.stringify({ source: 'api', type: 'job.queued.v1', subject: `job:${n}`, data: { n } });
  writeFileSync(join(dir, 'jobs.jsonl'), `${[1, 2, 3].map(line).join('\n')}\n`);
  return { mesh: join(dir, 'mesh.yaml'), input: join(dir, 'jobs.jsonl') };
}

describe('a predicate error in the console: one banner per rule, with a count', () => {
  let up: UpProcess;
  let browser: ConsoleBrowser;
  let page: Page;

  beforeAll(async () => {
    const { mesh, input } = writeAlertMesh();
    up = await startUp([mesh, '--data', join(tempDir('console-alert-data'), 'data'), '--input', input]);
    browser = await openBrowser();
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
    if (up !== undefined) expect(await up.stop()).toBe(0);
  });

  it('names the rule and its error on every page, and counts each new failure', async () => {
    const stats = await until(async () => {
      const s = (await call(up, up.token, 'GET', '/stats')).body;
      return s.counts.predicateErrors.addressed === 3 ? s : undefined;
    }, 'three predicate errors');
    expect(stats.alerts).toEqual([
      expect.objectContaining({ kind: 'alert', alert: 'predicate_error', rule: 'addressed', count: 3 }),
    ]);
    await page.goto(up.console);
    const banner = page.getByTestId('alert-banner');
    await banner.waitFor();
    expect(await banner.count()).toBe(1);
    expect(await banner.getAttribute('data-rule')).toBe('addressed');
    expect(await banner.getAttribute('data-count')).toBe('3');
    expect(await page.getByTestId('alert-detail').textContent()).toContain('msg.target');
    await browser.shot('alert-banner');

    // The live feed carries the alert too, and the banner counts on without a second banner.
    const feed = await fetch(`${up.api}/events`, { headers: { authorization: `Bearer ${up.token}` } });
    const reader = feed.body!.getReader();
    const alerts: FeedEvent[] = [];
    const parser = createSseParser((m: SseMessage) => {
      alerts.push(
        ...(JSON.parse(m.data) as { events: FeedEvent[] }).events.filter((e) => e.kind === 'alert'),
      );
    });
    const sent = await call(up, up.token, 'POST', '/messages', {
      type: 'job.queued.v1',
      subject: 'job:4',
      data: { n: 4 },
    });
    expect(sent.status).toBeLessThan(300);
    while (alerts.length === 0) {
      const { value } = await reader.read();
      parser.push(new TextDecoder().decode(value));
    }
    await reader.cancel();
    expect(alerts).toEqual([
      expect.objectContaining({ rule: 'addressed', count: 4, reason: 'approval.predicate_error' }),
    ]);
    await page.getByTestId('nav-held').click();
    await expect.poll(() => banner.getAttribute('data-count'), { timeout: 10_000 }).toBe('4');
    expect(await banner.count()).toBe(1);

    await page.getByTestId('alert-dismiss').click();
    expect(await banner.count()).toBe(0);
  });
});

describe('live feed parsing in the console', () => {
  const stream =
    ': meshwarden live feed\n\nevent: decisions\ndata: {"events":[],"dropped":1}\n\n' +
    'event: decisions\r\ndata: {"a":\r\ndata: 2}\r\n\r\n: keep-alive\n\n';

  it.each([1, 2, 3, 7, stream.length])('parses server-sent events split into %i-character chunks', (size) => {
    const got: SseMessage[] = [];
    const parser = createSseParser((m) => got.push(m));
    for (let i = 0; i < stream.length; i += size) parser.push(stream.slice(i, i + size));
    expect(got).toEqual([
      { event: 'decisions', data: '{"events":[],"dropped":1}' },
      { event: 'decisions', data: '{"a":\n2}' },
    ]);
  });

  it('counts 5,000 decisions a second per verdict and keeps only the newest 200 rows', () => {
    const now = 1_800_000_000_000;
    const tally = createFeedTally(() => now);
    const decision = (i: number): FeedEvent => ({
      kind: 'decision',
      at: new Date(now).toISOString(),
      id: `m${i}`,
      type: 'ticket.opened.v1',
      subject: `account:${i}`,
      from: 'ingress:inbox',
      gated: 'message',
      decision: i % 100 === 0 ? 'deny' : 'deliver',
      stage: 'gate',
      reason: 'gate.admitted',
      rule: null,
      detail: 'passed every guard',
    });
    // Ten batches of 500 sampled events, each with the interval's true counts and what was left out.
    for (let b = 0; b < 10; b++) {
      const events = Array.from({ length: 500 }, (_, i) => decision(b * 500 + i));
      tally.add({ events, counts: { deliver: 495, deny: 5, hold: 0, quarantine: 0 }, dropped: 0 });
    }
    const snap = tally.snapshot();
    expect(snap.seconds.at(-1)?.counts).toMatchObject({ deliver: 4950, deny: 50, hold: 0, quarantine: 0 });
    expect(snap.totals.deliver + snap.totals.deny).toBe(5000);
    expect(snap.rows).toHaveLength(200);
    expect(snap.rows[0]?.event.id).toBe('m4999');
    expect(snap.attention.every((r) => r.event.kind === 'decision' && r.event.decision === 'deny')).toBe(
      true,
    );
  });

  it('lists a pilot’s answer to a hold as a row of the feed, and counts deliveries without listing them', () => {
    const now = 1_800_000_000_000;
    const tally = createFeedTally(() => now);
    const at = new Date(now).toISOString();
    tally.add({
      events: [
        { kind: 'released', at, id: 'm1', outcome: 'deliver', by: 'pilot:ana' },
        { kind: 'delivered', at, id: 'm1', agent: 'churn@2.0.1' },
      ],
      dropped: 0,
    });
    const snap = tally.snapshot();
    expect(snap.rows.map((r) => r.event.kind)).toEqual(['released']);
    expect(snap.attention).toEqual([]);
    expect(snap.totals.other).toBe(2);
  });
});
