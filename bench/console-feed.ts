// npm run bench:console [-- --quick]: does the console's live feed keep up with a busy mesh without
// freezing the page? Starts `up` on the bench mesh, opens the live feed in Debian's Chromium, sends
// pipelines through the API at a steady rate (each pipeline is three decisions) and measures inside
// the page: long tasks (the main thread busy over 50 ms), how long the page takes to answer a script
// call, and whether its tallies add up to what the server decided. Writes bench/results/console.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { quantile, round } from './stats.ts';
import { ROOT as root, startBenchUp } from './up.ts';

/** What the page's scripts see that this file uses. */
type InPage = { longTasks: number[]; document: { querySelectorAll(selector: string): { length: number } } };

const DECISIONS_PER_SECOND = 5_000;
const SECONDS = process.argv.includes('--quick') ? 4 : 10;
const progress = (text: string) => process.stderr.write(`${text}\n`);

const up = startBenchUp(join(root, 'bench/mesh/mesh.yaml'), 'console');

try {
  const started = await up.started;

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // Long tasks from the first script on, kept in the page until read.
  // These functions run in the page (a browser), typed here without the DOM library.
  await page.addInitScript(() => {
    const w = globalThis as unknown as InPage;
    w.longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) w.longTasks.push(entry.duration);
    }).observe({ type: 'longtask' as never, buffered: true }); // Node's types lack the browser's entry type
  });
  await page.goto(started.console);
  await page.locator('[data-testid="nav-live"]').click();
  await page.locator('[data-testid="feed-state"]').filter({ hasText: 'live' }).waitFor();
  await page.evaluate(() => {
    (globalThis as unknown as InPage).longTasks.length = 0;
  });

  progress(
    `console: ${DECISIONS_PER_SECOND.toLocaleString('en')} decisions/s for ${SECONDS} s through the API, live feed open in Chromium …`,
  );
  const pipelinesPerSecond = DECISIONS_PER_SECOND / 3;
  const headers = { authorization: `Bearer ${started.token}`, 'content-type': 'application/json' };
  const send = (i: number) =>
    fetch(`${started.api}/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ type: 'step.one.v1', subject: `entity:${i % 1000}`, data: { value: i } }),
    }).then((r) => r.status === 202);
  const rounds: number[] = [];
  let sent = 0;
  let accepted = 0;
  const t0 = performance.now();
  const tick = 50;
  for (let at = 0; at < SECONDS * 1000; at += tick) {
    // Catch up to where the schedule says we should be, in parallel calls.
    const due = Math.floor(((at + tick) / 1000) * pipelinesPerSecond);
    const batch: Promise<boolean>[] = [];
    while (sent < due) batch.push(send(sent++));
    const r0 = performance.now();
    await page.evaluate(() => performance.now());
    rounds.push(performance.now() - r0);
    accepted += (await Promise.all(batch)).filter(Boolean).length;
    const wait = t0 + at + tick - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const seconds = (performance.now() - t0) / 1000;
  // The last batches reach the page within a feed interval or two.
  await new Promise((resolve) => setTimeout(resolve, 1_500));

  const stats = (await (await fetch(`${started.api}/stats`, { headers })).json()) as {
    counts: { messages: { admitted: number } };
  };
  const inPage = await page.evaluate(() => {
    const w = globalThis as unknown as InPage;
    return { longTasks: w.longTasks, rows: w.document.querySelectorAll('[data-testid="feed-row"]').length };
  });
  await browser.close();

  const long = inPage.longTasks.sort((a, b) => a - b);
  rounds.sort((a, b) => a - b);
  const decided = stats.counts.messages.admitted;
  const result = {
    at: new Date().toISOString(),
    target: { decisionsPerSecond: DECISIONS_PER_SECOND },
    seconds: round(seconds, 1),
    pipelinesSent: sent,
    pipelinesAccepted: accepted,
    decisionsPerSecond: Math.round(decided / seconds),
    longTasks: long.length,
    longTaskMs: round(
      long.reduce((a, b) => a + b, 0),
      0,
    ),
    longestTaskMs: round(long.at(-1) ?? 0, 0),
    pageRoundTripP50ms: round(quantile(rounds, 0.5), 1),
    pageRoundTripP99ms: round(quantile(rounds, 0.99), 1),
    pageRoundTripMaxMs: round(rounds.at(-1) ?? 0, 1),
    feedRowsKept: inPage.rows,
  };
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results/console.json'), `${JSON.stringify(result, null, 2)}\n`);
  const rows: [string, string][] = [
    ['decisions/s the mesh made (target load 5,000)', result.decisionsPerSecond.toLocaleString('en')],
    [
      'long tasks in the page (> 50 ms), total ms, longest ms',
      `${result.longTasks}, ${result.longTaskMs}, ${result.longestTaskMs}`,
    ],
    [
      'page round trip p50 / p99 / max ms',
      `${result.pageRoundTripP50ms} / ${result.pageRoundTripP99ms} / ${result.pageRoundTripMaxMs}`,
    ],
    ['feed rows kept in the page', String(result.feedRowsKept)],
  ];
  for (const [name, value] of rows) process.stdout.write(`${name.padEnd(56)} ${value}\n`);
  process.stdout.write('wrote bench/results/console.json\n');
} finally {
  await up.stop();
}
