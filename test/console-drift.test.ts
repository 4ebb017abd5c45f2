import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleBrowser, openBrowser, SHOTS } from './browser.js';
import { REPO, runCli, tempDir } from './run-cli.js';
import { call, startUp, type UpProcess, until } from './up-process.js';

const EXAMPLE = join(REPO, 'examples', 'procurement');
const REVIEWS = readFileSync(join(EXAMPLE, 'reviews.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as { type: string; subject: string; data: unknown });

type Bins = { edges?: [number | null, number | null][]; baseline: number[]; current: number[] };

/**
 * The console's Drift view over examples/procurement (docs/drift.md): optimizer 2.0.0 runs, then 2.1.0
 * under `up`, whose drift monitor freezes it. The view draws what GET /drift says; the live feed shows
 * the alarm as it happens.
 */
describe('console: the Drift view', () => {
  const data = join(tempDir('console-drift'), 'data');
  let browser: ConsoleBrowser;
  let page: Page;
  let up: UpProcess | undefined;
  // The first start's admin token: the data directory keeps it for the second.
  let admin: string;
  const pageErrors: string[] = [];
  const testid = (id: string) => page.getByTestId(id);

  beforeAll(async () => {
    browser = await openBrowser();
    page = browser.page;
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  afterAll(async () => {
    await browser?.close();
    if (up !== undefined) await up.stop();
    expect(pageErrors).toEqual([]);
  });

  it('says in plain words that there is nothing to compare on a mesh with one version of each agent', async () => {
    up = await startUp(['mesh.yaml', '--data', data], { cwd: EXAMPLE });
    admin = up.token!;
    await page.goto(`${up.console}`);
    await testid('nav-drift').click();
    await testid('drift-view').waitFor();
    await expect.poll(() => testid('drift-empty').textContent()).toContain('nothing to compare');
    await expect(testid('drift-as-of').textContent()).resolves.toMatch(/^as of /);
    // The monitor of the policy is listed, with its rule in a sentence and no baseline yet.
    expect(await testid('drift-monitor-rule').textContent()).toContain(
      "Watches optimizer's budget.adjusted.v1",
    );
    expect(await testid('drift-monitor-evaluation').textContent()).toContain('no baseline yet');
    expect(await testid('drift-monitor-breaker').getAttribute('data-open')).toBe('false');
    await browser.shot('drift-empty');
    expect(await up.stop()).toBe(0);
    up = undefined;
  }, 60_000);

  it('shows optimizer 2.1.0 drifted from 2.0.0 as charts, its monitor’s open breaker and the alarm’s lineage', async () => {
    const first = await runCli(['run', 'mesh.yaml', '--input', 'reviews.jsonl', '--data', data], {
      cwd: EXAMPLE,
    });
    expect(first.code, first.stderr).toBe(0);
    up = await startUp(['mesh-2.1.yaml', '--data', data], { cwd: EXAMPLE });
    const token = admin;
    await page.goto(`${up.url}/#token=${encodeURIComponent(token)}`);
    await testid('nav-live').click();
    await testid('live-view').waitFor();
    await expect.poll(() => testid('feed-state').textContent()).toMatch(/live/i);

    // 2.1.0 proposes; after 50 of its proposals the monitor alarms and freezes it.
    for (const review of REVIEWS.slice(0, 80)) {
      const { type, subject, data: body } = review;
      const sent = await call(up, token, 'POST', '/messages', { type, subject, data: body });
      expect(sent.status).toBe(202);
    }
    // The live feed shows the alarm in words, linking to the Drift view.
    const alarm = testid('feed-drift-link');
    await alarm.waitFor({ timeout: 15_000 });
    expect(await alarm.textContent()).toBe('optimizer 2.1.0 drifted');
    const row = page.locator('[data-testid="feed-row"][data-kind="drift-alarm"]');
    expect(await row.textContent()).toContain('drift alarm');
    expect(await row.getByTestId('feed-lineage-link').getAttribute('href')).toMatch(/^#\/message\//);
    await row.screenshot({ path: join(SHOTS, 'drift-live-row.png') });
    await settled(up, token);
    await alarm.click();
    await testid('drift-view').waitFor();
    const version = page.locator(
      '[data-testid="drift-version"][data-agent="optimizer"][data-version="2.1.0"]',
    );
    await version.waitFor();
    // The agent filter narrows both the monitors and the versions.
    await testid('drift-agent').selectOption('optimizer');
    await version.waitFor();
    expect(await page.getByTestId('drift-monitor').count()).toBe(1);
    const api = (await call(up, token, 'GET', '/drift')).body;
    expect(await version.getByTestId('drift-headline').textContent()).toMatch(
      /^optimizer 2\.1\.0 drifted from 2\.0\.0 on \/deltaPct: PSI [0-9.]+, over 0\.2/,
    );

    // The drifted field comes first, charted: each bar's count is the API's bin count.
    const field = version.locator('[data-testid="drift-field"]').first();
    expect(await field.getAttribute('data-field')).toBe('/deltaPct');
    expect(await field.getAttribute('data-drifted')).toBe('true');
    const delta = api.agents
      .find((v: { agent: string; version: string }) => v.agent === 'optimizer' && v.version === '2.1.0')
      .fields.find((f: { field: string }) => f.field === '/deltaPct') as { bins: Bins; score: number };
    const bars = field.getByTestId('drift-chart').locator('rect[data-testid="drift-bar"]');
    const drawn = await bars.evaluateAll((rects) =>
      rects.map((r) => [
        r.getAttribute('data-side'),
        Number(r.getAttribute('data-bin')),
        Number(r.getAttribute('data-count')),
      ]),
    );
    const expected = delta.bins.baseline.flatMap((b, i) => [
      ['baseline', i, b],
      ['current', i, delta.bins.current[i]],
    ]);
    expect(drawn).toEqual(expected);
    // Each bar says its bin, its count and share; the chart names itself.
    expect(await bars.nth(0).locator('title').textContent()).toMatch(/^< .+: 2\.0\.0 \d+ of 300 \(/);
    expect(await field.locator('svg').getAttribute('aria-label')).toContain(
      '/deltaPct in budget.adjusted.v1',
    );
    // The verdict mix row: 2.1.0's output is now mostly held.
    expect(
      await version.locator('[data-testid="drift-mix-row"][data-metric="verdicts"]').textContent(),
    ).toContain('held');

    // The monitor: its breaker open (reset in Breakers), and its alarm linking to a lineage that opens.
    const monitor = page.locator('[data-testid="drift-monitor"][data-monitor="optimizer-delta"]');
    expect(await monitor.getByTestId('drift-monitor-breaker').getAttribute('data-open')).toBe('true');
    expect(await monitor.getByTestId('drift-breakers-link').getAttribute('href')).toBe('#/breakers');
    expect(await monitor.getByTestId('drift-monitor-evaluation').textContent()).toContain('at or over 0.2');
    // What the monitor compares now (its baseline against the version's last window), charted from its bins.
    const window = monitor.getByTestId('drift-monitor-window');
    await window.locator(':scope > summary').click();
    const windowBins = api.monitors[0].evaluation.fields[0].bins as Bins;
    const windowCounts = await window
      .locator('rect[data-testid="drift-bar"][data-side="current"]')
      .evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('data-count'))));
    expect(windowCounts).toEqual(windowBins.current);
    const msgId = api.monitors[0].alarms[0].msgId as string;
    await browser.shot('drift-view');
    await monitor.getByTestId('drift-alarm-lineage').click();
    const lineage = testid('lineage-view');
    await lineage.waitFor();
    expect(await lineage.getAttribute('data-message-id')).toBe(msgId);
    await testid('why-chain').waitFor();

    // Back in the Drift view, Refresh reads the report again.
    await page.goBack();
    await testid('drift-refresh').click();
    await expect.poll(() => testid('drift-refresh').textContent()).toBe('Refresh');
    expect(await testid('drift-as-of').textContent()).toMatch(
      /^as of .*, over \d+ decisions and deliveries in the ledger$/,
    );
  }, 120_000);
});

/** Waits until the ledger stops growing, so the report and the page read the same entries. */
async function settled(up: UpProcess, token: string): Promise<void> {
  let last = -1;
  await until(async () => {
    const now = (await call(up, token, 'GET', '/ledger')).body.entries as number;
    const same = now === last;
    last = now;
    await new Promise((r) => setTimeout(r, 300));
    return same;
  }, 'a quiet ledger');
}
