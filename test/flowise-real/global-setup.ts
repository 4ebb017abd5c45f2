/**
 * The real Flowise of `npm run test:flowise`: the one FLOWISE_ENV names (an env file written by
 * scripts/flowise-peer.sh, for a server that is already running and is left running), else one
 * started by that script for this run and stopped after it.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import type { TestProject } from 'vitest/node';

/** What the suite needs from the peer: where it is, its API key, and its flows' ids. */
export type FlowisePeer = {
  readonly url: string;
  readonly key: string;
  readonly flows: {
    readonly echo: string;
    readonly json: string;
    readonly fail: string;
    readonly keyed: string;
  };
};

declare module 'vitest' {
  export interface ProvidedContext {
    flowise: FlowisePeer;
  }
}

const REPO = join(import.meta.dirname, '..', '..');

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.FLOWISE_ENV;
  const settings = given ? parseEnv(readFileSync(given, 'utf8')) : await startPeer();
  const need = (name: string): string => {
    const value = settings[name];
    if (!value) throw new Error(`the Flowise settings ${given ?? '(from flowise-peer.sh)'} have no ${name}`);
    return value;
  };
  const peer: FlowisePeer = {
    url: need('FLOWISE_URL'),
    key: need('FLOWISE_KEY'),
    flows: {
      echo: need('FLOWISE_ECHO_FLOW'),
      json: need('FLOWISE_JSON_FLOW'),
      fail: need('FLOWISE_FAIL_FLOW'),
      keyed: need('FLOWISE_KEYED_FLOW'),
    },
  };
  // A stale env file (its server stopped) should say so, not fail every test with a network error.
  const ping = await fetch(`${peer.url}/api/v1/ping`).catch((cause: unknown) => cause as Error);
  if (ping instanceof Error || !ping.ok)
    throw new Error(`no Flowise answers at ${peer.url}/api/v1/ping (${given ?? 'just started'})`, {
      cause: ping,
    });
  project.provide('flowise', peer);
  if (given) return undefined;
  return () => stopPeer(Number(need('FLOWISE_PID')), [settings.FLOWISE_DATA, settings.FLOWISE_ENV]);
}

/** Runs scripts/flowise-peer.sh (its progress shows on stderr) and reads the settings it prints. */
function startPeer(): Promise<Record<string, string | undefined>> {
  const script = join(REPO, 'scripts', 'flowise-peer.sh');
  const child = spawn('bash', [script], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(parseEnv(out)) : reject(new Error(`scripts/flowise-peer.sh exited with ${code}`)),
    );
  });
}

/** Stops the server this run started, and drops its data dir (SQLite DB, keys, log) and env file. */
async function stopPeer(pid: number, leftovers: readonly (string | undefined)[]): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // it stopped by itself: its log stays for a look
  }
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(pid, 'SIGKILL');
  for (const path of leftovers) if (path !== undefined) rmSync(path, { recursive: true, force: true });
}
