import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleBrowser, openBrowser } from './browser.js';
import { runCli, tempDir } from './run-cli.js';
import { call, startUp, type UpProcess } from './up-process.js';

type Head = { partition: number; size: number; head: string };

/** A mesh of two partitions whose jobs land in both, with a ledger already written and checkpointed. */
async function writePartitionedData(): Promise<{ mesh: string; data: string }> {
  const dir = tempDir('console-ledger');
  mkdirSync(join(dir, 'contracts'));
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: split',
      'partitions: 2',
      'agents:',
      '  worker: { version: 1.0.0, module: ./worker.mjs, consumes: [job.queued.v1] }',
      'ingress:',
      '  api: { emits: [job.queued.v1] }',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), '{ "type": "object" }');
  writeFileSync(join(dir, 'worker.mjs'), 'export default { handle() {} };');
  const line = (n: number) =>
    JSON.stringify({ source: 'api', type: 'job.queued.v1', subject: `job:${n}`, data: { n } });
  writeFileSync(join(dir, 'jobs.jsonl'), `${[1, 2, 3, 4].map(line).join('\n')}\n`);
  const mesh = join(dir, 'mesh.yaml');
  const data = join(dir, 'data');
  const ran = await runCli(['run', mesh, '--input', join(dir, 'jobs.jsonl'), '--data', data, '--json']);
  expect(ran.code, ran.stderr).toBe(0);
  const checkpoint = await runCli(['audit', 'checkpoint', '--data', data]);
  expect(checkpoint.code, checkpoint.stderr).toBe(0);
  return { mesh, data };
}

describe('the console’s ledger view with several partitions', () => {
  let up: UpProcess;
  let browser: ConsoleBrowser;
  let page: Page;

  beforeAll(async () => {
    const { mesh, data } = await writePartitionedData();
    up = await startUp([mesh, '--data', data]);
    browser = await openBrowser();
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
    if (up !== undefined) expect(await up.stop()).toBe(0);
  });

  it('shows every partition’s head, now and in the last checkpoint, not partition 0’s alone', async () => {
    const status = (await call(up, up.token, 'GET', '/ledger')).body as {
      heads: Head[];
      lastCheckpoint: { heads: Head[] };
    };
    expect(status.heads.map((h) => h.partition)).toEqual([0, 1]);
    expect(status.lastCheckpoint.heads.map((h) => h.partition)).toEqual([0, 1]);

    await page.goto(up.console);
    await page.getByTestId('nav-ledger').click();
    const shown = async (list: string) =>
      page
        .getByTestId(list)
        .getByTestId('partition-head')
        .evaluateAll((items) => items.map((li) => [li.getAttribute('data-partition'), li.textContent]));
    const expected = (heads: Head[]) =>
      heads.map((h) => [String(h.partition), `Partition ${h.partition}: ${h.size} entries, ${h.head}`]);
    await page.getByTestId('ledger-heads').waitFor();
    expect(await shown('ledger-heads')).toEqual(expected(status.heads));
    expect(await shown('checkpoint-heads')).toEqual(expected(status.lastCheckpoint.heads));
    // No single "Head" that is partition 0's only.
    expect(await page.getByTestId('ledger-head').count()).toBe(0);
    // The entries list shows one partition's chain at a time, newest first; pick the other one.
    const listed = () =>
      page
        .getByTestId('ledger-entry')
        .evaluateAll((rows) =>
          rows.map((r) => [r.getAttribute('data-partition'), Number(r.getAttribute('data-seq'))]),
        );
    const newestFirst = (h: Head) => Array.from({ length: Math.min(h.size, 25) }, (_, i) => h.size - i);
    await expect.poll(listed).toEqual(newestFirst(status.heads[0]!).map((seq) => ['0', seq]));
    // The picker lists the policy's partitions, whatever this node's writer holds.
    const options = await page
      .getByTestId('ledger-partition')
      .locator('option')
      .evaluateAll((els) => els.map((o) => o.getAttribute('value')));
    expect(options).toEqual(['0', '1']);
    await page.getByTestId('ledger-partition').selectOption('1');
    await expect.poll(listed).toEqual(newestFirst(status.heads[1]!).map((seq) => ['1', seq]));
    await browser.shot('ledger-partitions');
  });
});
