// Fuzz torture: every door of a real `up` with fast-check, then JSON Lines, mesh files and
// envelopes; then the known holes sent on purpose (see docs/reliability.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fuzzEnvelopes, fuzzJsonl, fuzzPolicy } from './fuzz-cli.ts';
import { type DoorResult, type FuzzFailure, fuzzHttp } from './fuzz-http.ts';
import {
  badLines,
  bigA2a,
  deepJson,
  invalidUtf8Http,
  isKnownFailure,
  type KnownCase,
  nullRestPart,
} from './known.ts';
import { auditVerify, MESH, type Progress, startUp, tempDir } from './lib.ts';

export type FuzzResult = {
  seed: number;
  runsPerDoor: number;
  doors: DoorResult[];
  /** Ids the doors answered with a decision; each was found in the ledger (or is a failure). */
  decided: number;
  jsonl: { lines: number; nonBlank: number; roots: number; code: number | null };
  policy: { runs: number; exits: Record<string, number> };
  envelopes: { runs: number; ok: number };
  serverExit: number | null;
  verify: boolean;
  /** Broken invariants not listed in known.ts: what a run is for. */
  failures: FuzzFailure[];
  /** Broken invariants known.ts lists (not fixed yet). */
  knownFailures: FuzzFailure[];
  known: KnownCase[];
};

export async function fuzzTorture(opts: {
  runs: number;
  lines: number;
  policies: number;
  seed: number;
  /** Send the known holes too (they answer 500 until their fixes are merged). */
  known: boolean;
  progress: Progress;
}): Promise<FuzzResult> {
  const data = join(tempDir('fuzz'), 'data');
  const up = await startUp(data);
  const token = up.token!;
  let http: Awaited<ReturnType<typeof fuzzHttp>>;
  const known: KnownCase[] = [];
  try {
    http = await fuzzHttp({ up, token, data, runs: opts.runs, seed: opts.seed, progress: opts.progress });
    if (opts.known) {
      for (const k of [deepJson, bigA2a, invalidUtf8Http, nullRestPart]) known.push(await k(up.api, token));
    }
  } finally {
    await up.stop();
  }
  const exited = await up.exited;
  const verify = await auditVerify(data);
  const failures = [...http.failures];
  if (exited.code !== 0)
    failures.push({
      door: 'up',
      input: '(shutdown)',
      status: exited.code ?? -1,
      body: '',
      problem: `up exited ${exited.code ?? exited.signal}`,
      log: up.stderr().slice(-600),
    });
  if (!verify.ok)
    failures.push({
      door: 'ledger',
      input: '(audit verify)',
      status: 1,
      body: verify.output.slice(0, 300),
      problem: 'the ledger does not verify',
    });
  const jsonl = await fuzzJsonl({ lines: opts.lines, seed: opts.seed, progress: opts.progress });
  const policy = await fuzzPolicy({
    runs: opts.policies,
    seed: opts.seed,
    progress: opts.progress,
    original: readFileSync(MESH, 'utf8'),
  });
  const envelopes = await fuzzEnvelopes({ runs: opts.runs * 10, seed: opts.seed, progress: opts.progress });
  if (opts.known) known.push(...(await badLines()));
  for (const k of known)
    opts.progress(
      `known hole: ${k.name}: ${k.ok ? 'holds' : 'BROKEN'} (${k.status}) ${k.detail.slice(0, 120)}`,
    );
  const all = [...failures, ...jsonl.failures, ...policy.failures, ...envelopes.failures];
  return {
    seed: opts.seed,
    runsPerDoor: opts.runs,
    doors: http.doors,
    decided: http.decided,
    jsonl: { lines: jsonl.lines, nonBlank: jsonl.nonBlank, roots: jsonl.roots, code: jsonl.code },
    policy: { runs: policy.runs, exits: policy.exits },
    envelopes: { runs: envelopes.runs, ok: envelopes.ok },
    serverExit: exited.code,
    verify: verify.ok,
    failures: all.filter((f) => !isKnownFailure(f)),
    knownFailures: all.filter(isKnownFailure),
    known,
  };
}
