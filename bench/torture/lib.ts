// Shared by the torture parts: the built CLI as real processes, the ledger read straight from its
// SQLite file (WAL lets a reader in while a writer runs, or after one was killed), a seeded PRNG.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type CliResult, runCliAt } from '../../test/run-cli.ts';
import { prng } from '../stats.ts';

export { prng };

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = join(ROOT, 'dist/cli/main.js');
/** The torture mesh: jobs → worker → pay.send effects, payments over 90 held for a pilot. */
export const MESH = join(ROOT, 'bench/torture/mesh/mesh.yaml');
/** The variable the mesh's pay.send executor reads: the side file it appends `{key, pid}` to. */
export const SIDE_ENV = 'MESHWARDEN_TORTURE_SIDE';

export type Progress = (text: string) => void;

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `meshwarden-torture-${name}-`));
}

export type { CliResult };

/** Runs the built `meshwarden` with these arguments, as a user would (the tests' runner, quieter). */
export function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCliAt(BIN, args, { cwd: ROOT, env: { MESHWARDEN_LOG: 'error', ...env } });
}

/** `audit verify --json` on a data directory: exit 0 means every chain is intact. */
export async function auditVerify(data: string): Promise<{ ok: boolean; output: string }> {
  const r = await cli(['audit', 'verify', '--data', data, '--json']);
  return { ok: r.code === 0, output: r.stdout || r.stderr };
}

/** A `meshwarden up` process on loopback, with its data directory, its log on `stderr()`. */
export type UpHandle = {
  readonly child: ChildProcess;
  readonly api: string;
  /** The admin token `up` printed, when this start created it. */
  readonly token: string | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  /** SIGINT, then wait for its exit (a clean shutdown). */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, then wait for its exit. */
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

export function startUp(data: string, env: NodeJS.ProcessEnv = {}, mesh = MESH): Promise<UpHandle> {
  const child = spawn(
    process.execPath,
    [BIN, 'up', mesh, '--port', '0', '--data', data, '--rate-limit', '100000000', '--json'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESHWARDEN_LOG: 'warn', ...env } },
  );
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 200_000) err = err.slice(-100_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      let doc: { api: string; token?: string };
      try {
        doc = JSON.parse(out);
      } catch {
        return; // not the whole document yet
      }
      resolve({
        child,
        api: doc.api,
        token: doc.token,
        exited,
        stderr: () => err,
        stop: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
          return exited;
        },
        kill: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          return exited;
        },
      });
    });
    exited.then(({ code }) => reject(new Error(`up exited (${code}) before it was up:\n${err}`)));
  });
}

export type LedgerRow = {
  kind: string;
  msgId: string | null;
  causationId: string | null;
  agent: string | null;
  data: Record<string, unknown>;
};

/** Every entry of the ledger in `data`, read-only, in chain order; [] before the file exists. */
export function readLedger(data: string): LedgerRow[] {
  const file = join(data, 'ledger.db');
  if (!existsSync(file)) return [];
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db
      .prepare('SELECT kind, msg_id, causation_id, agent, body FROM entries ORDER BY partition, seq')
      .all()
      .map((r) => ({
        kind: r.kind as string,
        msgId: r.msg_id as string | null,
        causationId: r.causation_id as string | null,
        agent: r.agent as string | null,
        data: (JSON.parse(r.body as string) as { data?: Record<string, unknown> }).data ?? {},
      }));
  } catch {
    return []; // the schema is not there yet
  } finally {
    db.close();
  }
}

/** Entries so far (cheap), 0 before the ledger exists. */
export function countLedger(data: string): number {
  const file = join(data, 'ledger.db');
  if (!existsSync(file)) return 0;
  try {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

export function decisionOf(row: LedgerRow): string | undefined {
  return (row.data.verdict as { decision?: string } | undefined)?.decision;
}

/** The keys the pay.send executor wrote to the side file, with how many times each. */
export function sideKeys(file: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(file)) return counts;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const { key } = JSON.parse(line) as { key: string };
      counts.set(key, (counts.get(key) ?? 0) + 1);
    } catch {
      // A line cut by the kill: its fsync never returned, so the effect did not report running.
    }
  }
  return counts;
}

/** Resident set size of a process in MB (Linux /proc), undefined once it is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return kb ? Number(kb[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A JSON call to the API with a bearer token: status and parsed body (or the raw text). */
export async function api(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}
