import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { type ConsoleBrowser, openBrowser } from './browser.js';
import { REPO, tempDir } from './run-cli.js';
import { call, startUp, type UpProcess, until } from './up-process.js';

type ApiReply = Awaited<ReturnType<typeof call>>;

export const RETENTION_MESH = join(REPO, 'examples', 'retention', 'mesh.yaml');
export const RETENTION_TICKETS = join(REPO, 'examples', 'retention', 'tickets.jsonl');

export type Hold = {
  id: string;
  subject: string;
  type: string;
  stage: string;
  rule: string | null;
  hop: number;
};

/** The retention example served by a real `up`, settled, with Chromium on its console. */
export type RetentionConsole = {
  /** The `--data` folder (its ledger.db is the run's ledger). */
  readonly data: string;
  readonly up: UpProcess;
  /** The admin token `up` printed. */
  readonly admin: string;
  readonly browser: ConsoleBrowser;
  readonly page: Page;
  /** Uncaught errors of the console's page, for a test to assert there are none. */
  readonly pageErrors: readonly string[];
  /** An API call as the admin. */
  call(method: string, path: string, body?: unknown): Promise<ApiReply>;
  holds(): Promise<Hold[]>;
  testid(id: string): Locator;
  shot(name: string): Promise<Buffer>;
};

/**
 * Registers the describe block's setup and teardown: `up` on the retention example, run until it
 * settles (3316's big credit waits for approval, 8841's loop is frozen), then a browser, signed in
 * on the overview unless `signIn` is false (a test of the sign-in itself). `up` must stop cleanly.
 */
export function retentionConsole(name: string, opts: { readonly signIn?: boolean } = {}): RetentionConsole {
  const data = join(tempDir(name), 'data');
  let up: UpProcess | undefined;
  let browser: ConsoleBrowser | undefined;
  const pageErrors: string[] = [];
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started: use it inside a test`);
    return value;
  };
  const session: RetentionConsole = {
    data,
    get up() {
      return started(up, 'up');
    },
    get admin() {
      return started(up, 'up').token!;
    },
    get browser() {
      return started(browser, 'the browser');
    },
    get page() {
      return started(browser, 'the browser').page;
    },
    pageErrors,
    call: (method, path, body) => call(session.up, session.admin, method, path, body),
    holds: async () => (await session.call('GET', '/holds')).body.holds,
    testid: (id) => session.page.getByTestId(id),
    shot: (shot) => session.browser.shot(shot),
  };

  beforeAll(async () => {
    up = await startUp([RETENTION_MESH, '--data', data, '--input', RETENTION_TICKETS]);
    await until(
      async () => (await session.holds()).some((h) => h.rule === 'big-credit'),
      'the big-credit hold',
    );
    await until(async () => (await session.holds()).some((h) => h.stage === 'loop'), 'the loop hold');
    browser = await openBrowser();
    browser.page.on('pageerror', (err) => pageErrors.push(err.message));
    if (opts.signIn === false) return;
    await browser.page.goto(up.console);
    await session.testid('mesh-graph').waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    if (up !== undefined) expect(await up.stop()).toBe(0);
  });

  return session;
}
