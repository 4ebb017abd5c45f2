// Soak: find how many messages a second `up`'s HTTP API takes, then send 80 % of that for a long
// while, sampling the process's resident memory every second (see docs/reliability.md).
import { join } from 'node:path';
import {
  api,
  auditVerify,
  type Progress,
  rssMb,
  sleep,
  slope,
  startUp,
  tempDir,
  type UpHandle,
} from './lib.ts';

export type SoakResult = {
  measureSeconds: number;
  /** 202s a second with 32 callers sending as fast as they can. */
  maxPerSecond: number;
  targetPerSecond: number;
  seconds: number;
  sent: number;
  achievedPerSecond: number;
  /** Not a 202 with a verdict, or no answer at all. */
  errors: number;
  firstErrors: string[];
  /** Verdicts other than deliver (none expected: no job is held or over a limit). */
  notDelivered: number;
  rssStartMb: number;
  rssEndMb: number;
  rssMaxMb: number;
  /** Least-squares slope of RSS over time after the first fifth of the run (warm-up), MB a minute. */
  rssSlopeMbPerMin: number;
  samples: number;
  verify: boolean;
};

/** Jobs on 1,000 subjects, amounts under the approval threshold: nothing piles up by design. */
const job = (n: number) => ({
  type: 'job.v1',
  subject: `job:${n % 1000}`,
  data: { n, amount: n % 90 },
  ingress: 'load',
});

async function send(up: UpHandle, token: string, n: number): Promise<string | undefined | 'held'> {
  try {
    const r = await api(up.api, token, 'POST', '/messages', job(n));
    if (r.status !== 202) return `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`;
    const decision = (r.body as { verdict?: { decision?: string } }).verdict?.decision;
    return decision === 'deliver' ? undefined : 'held';
  } catch (err) {
    return String(err);
  }
}

export async function soakTorture(opts: {
  seconds: number;
  measureSeconds: number;
  progress: Progress;
  /** Another mesh file with the same ingress and types (to try a guard setting); the torture mesh by default. */
  mesh?: string;
}): Promise<SoakResult> {
  const data = join(tempDir('soak'), 'data');
  const up = await startUp(data, {}, opts.mesh);
  const token = up.token!;
  const pid = up.child.pid!;
  let n = 0;
  let errors = 0;
  let notDelivered = 0;
  const firstErrors: string[] = [];
  const tally = (r: string | undefined | 'held') => {
    if (r === 'held') notDelivered++;
    else if (r !== undefined) {
      errors++;
      if (firstErrors.length < 5) firstErrors.push(r);
    }
  };
  try {
    // The ceiling: 32 callers, each sending the next job as soon as the last is answered.
    let done = 0;
    const end = performance.now() + opts.measureSeconds * 1000;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (performance.now() < end) {
          tally(await send(up, token, n++));
          done++;
        }
      }),
    );
    const maxPerSecond = Math.round(done / opts.measureSeconds);
    const target = Math.max(1, Math.round(maxPerSecond * 0.8));
    opts.progress(
      `soak: ceiling ${maxPerSecond} messages/s through POST /messages; now ${target}/s for ${opts.seconds} s`,
    );

    // 80 %: a paced sender (every 10 ms, what the schedule says is due), at most 512 in flight.
    const times: number[] = [];
    const rss: number[] = [];
    const start = performance.now();
    let sent = 0;
    let inFlight = 0;
    const pending = new Set<Promise<void>>();
    let nextSample = 0;
    while (performance.now() - start < opts.seconds * 1000) {
      const elapsed = (performance.now() - start) / 1000;
      if (elapsed >= nextSample) {
        const mb = rssMb(pid);
        if (mb !== undefined) {
          times.push(elapsed / 60);
          rss.push(mb);
        }
        if (nextSample % 30 === 0 && nextSample > 0)
          opts.progress(
            `soak: ${Math.round(elapsed)} s, ${sent} sent, rss ${mb?.toFixed(1)} MB, ${errors} errors`,
          );
        nextSample++;
      }
      const due = Math.floor(elapsed * target) - sent;
      for (let i = 0; i < due && inFlight < 512; i++) {
        inFlight++;
        sent++;
        const p: Promise<void> = send(up, token, n++).then((r) => {
          tally(r);
          inFlight--;
          pending.delete(p);
        });
        pending.add(p);
      }
      await sleep(10);
    }
    await Promise.all(pending);
    const seconds = (performance.now() - start) / 1000;
    const warm = Math.floor(times.length / 5);
    const result = {
      measureSeconds: opts.measureSeconds,
      maxPerSecond,
      targetPerSecond: target,
      seconds: Math.round(seconds),
      sent,
      achievedPerSecond: Math.round(sent / seconds),
      errors,
      firstErrors,
      notDelivered,
      rssStartMb: round1(rss[0] ?? 0),
      rssEndMb: round1(rss.at(-1) ?? 0),
      rssMaxMb: round1(Math.max(...rss)),
      rssSlopeMbPerMin: Math.round(slope(times.slice(warm), rss.slice(warm)) * 100) / 100,
      samples: rss.length,
      verify: false,
    };
    const stopped = await up.stop();
    if (stopped.code !== 0) {
      result.errors++;
      result.firstErrors.push(`up exited ${stopped.code ?? stopped.signal}: ${up.stderr().slice(-300)}`);
    }
    result.verify = (await auditVerify(data)).ok;
    opts.progress(
      `soak: ${result.sent} sent at ${result.achievedPerSecond}/s, ${result.errors} errors, rss ${result.rssStartMb} → ${result.rssEndMb} MB (slope ${result.rssSlopeMbPerMin} MB/min), verify ${result.verify ? 'ok' : 'FAILED'}`,
    );
    return result;
  } finally {
    await up.stop();
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
