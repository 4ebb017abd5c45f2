import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { createAlertSinks } from '../src/interop/index.js';
import { type MeshEvent, openMesh } from '../src/runtime/index.js';
import { REPO } from './run-cli.js';

// The alert tests' one way to a retention mesh with an `alerts:` section, opened with real sinks.

export const log = pino({ level: 'silent' });
/** The sinks' secrets, as the tests' mesh files name them. */
export const ALERT_ENV = { MW_T_PD: 'pd-routing-key', MW_T_SLACK: '', MW_T_SECRET: 'hook-secret' };
const work = join(REPO, 'test-output');
let root = '';

beforeAll(() => {
  mkdirSync(work, { recursive: true });
  root = mkdtempSync(join(work, 'alerts-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A copy of examples/retention whose mesh.yaml ends with `alerts` (lines, indented by the caller). */
export function retentionWith(alerts: readonly string[]): string {
  const dir = mkdtempSync(join(root, 'retention-'));
  cpSync(join(REPO, 'examples', 'retention'), dir, { recursive: true });
  const file = join(dir, 'mesh.yaml');
  writeFileSync(file, `${readFileSync(file, 'utf8')}\nalerts:\n${alerts.join('\n')}\n`);
  return dir;
}

/** What a test changes in how the mesh opens: a frozen clock, a short wait for alerts at close. */
export type OpenExtra = { readonly clock?: () => number; readonly alertCloseWaitMs?: number };

export async function openWith(
  dir: string,
  env: Record<string, string>,
  events: MeshEvent[] = [],
  extra: OpenExtra = {},
) {
  const opened = await openMesh({
    meshFile: join(dir, 'mesh.yaml'),
    dataDir: join(dir, 'data'),
    log,
    alertSinks: (specs) => createAlertSinks(specs, { env, initialDelayMs: 5 }),
    ...extra,
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  opened.opened.mesh.onEvent((e) => events.push(e));
  return opened.opened;
}
