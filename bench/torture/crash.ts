// Crash torture: SIGKILL `run --input` and `up` under HTTP load at random moments, with payments
// held for a pilot and payments executing, then check what survived (see docs/reliability.md).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkAtKill, duplicates, unfinished } from './crash-check.ts';
import {
  api,
  auditVerify,
  BIN,
  countLedger,
  MESH,
  type Progress,
  prng,
  ROOT,
  readLedger,
  SIDE_ENV,
  sideKeys,
  sleep,
  startUp,
  tempDir,
  type UpHandle,
} from './lib.ts';

export type KillResult = {
  mode: 'run' | 'up';
  /** Ledger entries when the process died. */
  entriesAtKill: number;
  /** 202/200 answers the loader got before the kill (up only). */
  acked: number;
  admittedLost: number;
  ledgerDuplicates: number;
  effectsBeforeDurable: number;
  holdsPendingAtKill: number;
  holdsMissingAfterRestart: number;
  unfinishedAfterRestart: number;
  /** Effects whose executor ran more than once with the same idempotency key (allowed: at-least-once). */
  effectsTwice: number;
  effectsRun: number;
  verifyAfterKill: boolean;
  verifyAfterRestart: boolean;
  /** Set when an invariant broke: what, for the report. */
  problems: string[];
};

export type CrashResult = {
  kills: number;
  byMode: { run: number; up: number };
  totals: Omit<KillResult, 'mode' | 'problems' | 'verifyAfterKill' | 'verifyAfterRestart'> & {
    verifyFailures: number;
  };
  failures: { kill: number; mode: string; problems: string[] }[];
  perKill: KillResult[];
};

const IN_FLIGHT = 16;

function job(n: number) {
  return { type: 'job.v1', subject: `job:${n}`, data: { n, amount: n % 100 }, ingress: 'load' };
}

/** HTTP load on a running `up`: jobs 16 at a time, and a pilot approving a hold now and then. */
function load(up: UpHandle, token: string, first: number) {
  const sent: string[] = [];
  const approved: string[] = [];
  const seenHolds = new Set<string>();
  let stop = false;
  let n = first;
  const sender = async () => {
    while (!stop) {
      try {
        const r = await api(up.api, token, 'POST', '/messages', job(n++));
        const body = r.body as { id?: string; verdict?: { decision?: string } };
        if (r.status === 202 && body.id !== undefined) sent.push(body.id);
      } catch {
        return; // the process is gone
      }
    }
  };
  const pilot = async () => {
    while (!stop) {
      try {
        const r = await api(up.api, token, 'GET', '/holds');
        const holds = (r.body as { holds?: { id: string }[] }).holds ?? [];
        for (const h of holds) seenHolds.add(h.id);
        const pick = holds[holds.length >> 1];
        if (pick !== undefined) {
          const a = await api(up.api, token, 'POST', `/holds/${pick.id}/approve`, { reason: 'torture' });
          if (a.status === 200) {
            approved.push(pick.id);
            seenHolds.delete(pick.id);
          }
        }
        await sleep(50);
      } catch {
        return;
      }
    }
  };
  const running = Promise.all([...Array.from({ length: IN_FLIGHT }, sender), pilot()]);
  return {
    sent,
    approved,
    seenHolds,
    async halt() {
      stop = true;
      await running;
    },
  };
}

/** Polls the ledger until every admitted message and effect is finished, or `ms` have passed. */
async function settle(data: string, ms: number): Promise<string[]> {
  const end = Date.now() + ms;
  for (;;) {
    const left = unfinished(readLedger(data));
    if (left.length === 0 || Date.now() > end) return left;
    await sleep(200);
  }
}

/** One kill: start, load, SIGKILL, check, restart, check again. */
async function oneKill(
  mode: 'run' | 'up',
  rnd: () => number,
  input: string,
  lines: number,
): Promise<KillResult> {
  const dir = tempDir(`crash-${mode}`);
  const data = join(dir, 'data');
  const side = join(dir, 'side.jsonl');
  const env = { [SIDE_ENV]: side };
  let acked = { sent: [] as string[], approved: [] as string[] };
  let seenHolds = new Set<string>();
  let token: string;

  if (mode === 'up') {
    const up = await startUp(data, env);
    token = up.token!;
    const loader = load(up, token, 0);
    await sleep(500 + rnd() * 2_500);
    await up.kill();
    await loader.halt();
    acked = { sent: loader.sent, approved: loader.approved };
    seenHolds = loader.seenHolds;
  } else {
    const child = spawn(process.execPath, [BIN, 'run', MESH, '--input', input, '--data', data], {
      cwd: ROOT,
      stdio: 'ignore',
      env: { ...process.env, MESHWARDEN_LOG: 'error', ...env },
    });
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    // About 3.5 entries a job; die somewhere between 5 % and 70 % of the way.
    const at = Math.floor((0.05 + rnd() * 0.65) * lines * 3.5);
    while (countLedger(data) < at && child.exitCode === null) await sleep(10);
    child.kill('SIGKILL');
    await exited;
    token = '';
  }

  const problems: string[] = [];
  const atKill = checkAtKill(readLedger(data), acked, sideKeys(side));
  if (atKill.admittedLost.length > 0)
    problems.push(`admitted but not in the ledger: ${atKill.admittedLost.slice(0, 5)}`);
  if (atKill.effectsBeforeDurable.length > 0)
    problems.push(`ran before its admission was durable: ${atKill.effectsBeforeDurable.slice(0, 5)}`);
  const verifyAfterKill = await auditVerify(data);
  if (!verifyAfterKill.ok) problems.push(`audit verify after the kill: ${verifyAfterKill.output}`);

  // Restart as `up` (it recovers like `run` does, and lists its holds on the API).
  const again = await startUp(data, env);
  token ||= again.token!;
  let missing: string[] = [];
  let left: string[] = [];
  try {
    left = await settle(data, 30_000);
    const r = await api(again.api, token, 'GET', '/holds');
    const now = new Set(((r.body as { holds?: { id: string }[] }).holds ?? []).map((h) => h.id));
    const released = new Set(
      readLedger(data)
        .filter((e) => e.kind === 'hold.released')
        .map((e) => e.msgId),
    );
    const expected = new Set([...atKill.pendingHolds, ...[...seenHolds].filter((id) => !released.has(id))]);
    missing = [...expected].filter((id) => !now.has(id));
  } finally {
    const stopped = await again.stop();
    if (stopped.code !== 0)
      problems.push(`restarted up exited ${stopped.code}: ${again.stderr().slice(-500)}`);
  }
  if (left.length > 0) problems.push(`admitted and never finished after the restart: ${left.slice(0, 5)}`);
  if (missing.length > 0) problems.push(`holds not pending after the restart: ${missing.slice(0, 5)}`);
  const rows = readLedger(data);
  const dups = duplicates(rows);
  if (dups.length > 0) problems.push(`duplicate entries: ${dups.slice(0, 5)}`);
  const verifyAfterRestart = await auditVerify(data);
  if (!verifyAfterRestart.ok) problems.push(`audit verify after the restart: ${verifyAfterRestart.output}`);
  const ran = sideKeys(side);
  return {
    mode,
    entriesAtKill: atKill.entries,
    acked: acked.sent.length + acked.approved.length,
    admittedLost: atKill.admittedLost.length,
    ledgerDuplicates: dups.length,
    effectsBeforeDurable: atKill.effectsBeforeDurable.length,
    holdsPendingAtKill: atKill.pendingHolds.size,
    holdsMissingAfterRestart: missing.length,
    unfinishedAfterRestart: left.length,
    effectsTwice: [...ran.values()].filter((n) => n > 1).length,
    effectsRun: ran.size,
    verifyAfterKill: verifyAfterKill.ok,
    verifyAfterRestart: verifyAfterRestart.ok,
    problems,
  };
}

/** `kills` SIGKILLs, alternating `run --input` (a file of `lines` jobs) and `up` under load. */
export async function crashTorture(opts: {
  kills: number;
  lines: number;
  seed: number;
  progress: Progress;
}): Promise<CrashResult> {
  const rnd = prng(opts.seed);
  const input = join(tempDir('crash-input'), 'jobs.jsonl');
  const jobs = Array.from({ length: opts.lines }, (_, n) =>
    JSON.stringify({ source: 'load', ...job(n), ingress: undefined }),
  );
  writeFileSync(input, `${jobs.join('\n')}\n`);
  const perKill: KillResult[] = [];
  for (let i = 0; i < opts.kills; i++) {
    const mode = i % 2 === 0 ? 'run' : 'up';
    const r = await oneKill(mode, rnd, input, opts.lines);
    perKill.push(r);
    opts.progress(
      `crash ${i + 1}/${opts.kills} (${mode}): killed at ${r.entriesAtKill} entries, ${r.holdsPendingAtKill} holds, ` +
        `${r.effectsRun} effects ran (${r.effectsTwice} twice); ${r.problems.length === 0 ? 'ok' : r.problems.join('; ')}`,
    );
  }
  const sum = (f: (k: KillResult) => number) => perKill.reduce((a, k) => a + f(k), 0);
  return {
    kills: perKill.length,
    byMode: {
      run: perKill.filter((k) => k.mode === 'run').length,
      up: perKill.filter((k) => k.mode === 'up').length,
    },
    totals: {
      entriesAtKill: sum((k) => k.entriesAtKill),
      acked: sum((k) => k.acked),
      admittedLost: sum((k) => k.admittedLost),
      ledgerDuplicates: sum((k) => k.ledgerDuplicates),
      effectsBeforeDurable: sum((k) => k.effectsBeforeDurable),
      holdsPendingAtKill: sum((k) => k.holdsPendingAtKill),
      holdsMissingAfterRestart: sum((k) => k.holdsMissingAfterRestart),
      unfinishedAfterRestart: sum((k) => k.unfinishedAfterRestart),
      effectsTwice: sum((k) => k.effectsTwice),
      effectsRun: sum((k) => k.effectsRun),
      verifyFailures: sum((k) => Number(!k.verifyAfterKill) + Number(!k.verifyAfterRestart)),
    },
    failures: perKill.flatMap((k, i) =>
      k.problems.length === 0 ? [] : [{ kill: i + 1, mode: k.mode, problems: k.problems }],
    ),
    perKill,
  };
}
