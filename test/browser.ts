import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { REPO } from './run-cli.js';

// The console's browser tests share one way to start Debian's Chromium and to keep screenshots.
export const CHROMIUM = '/usr/bin/chromium';
export const SHOTS = join(REPO, 'test-output', 'screenshots');

export type ConsoleBrowser = {
  readonly browser: Browser;
  readonly page: Page;
  /** A full-page screenshot to test-output/screenshots/<name>.png. */
  shot(name: string): Promise<Buffer>;
  close(): Promise<void>;
};

/**
 * Chromium with one page at 1400×900. A missing browser or an unbuilt console is a failure to fix,
 * never a reason to skip.
 */
export async function openBrowser(): Promise<ConsoleBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install chromium`);
  if (!existsSync(join(REPO, 'console', 'dist', 'app.js')))
    throw new Error('console/dist/app.js is missing: run `npm run build` first');
  mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  page.setDefaultTimeout(15_000);
  return {
    browser,
    page,
    shot: (name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true }),
    close: () => browser.close(),
  };
}
