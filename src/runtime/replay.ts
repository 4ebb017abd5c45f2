import type { MeshwardenError } from '../envelope/index.js';
import type { LedgerEntry, LedgerReader } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import { runtimeError } from './errors.js';
import { ENTRY } from './records.js';
import { createReplayEngine } from './replay-engine.js';
import { REPLAY_LIMIT, type ReplayFold } from './replay-fold.js';
import type { ReplayBreaker, ReplayReport } from './replay-report.js';

export type ReplayOptions = {
  /** Replay only entries at or after this time (ms), with a fresh state there. */
  readonly from?: number;
  /** Replay only entries before this time (ms): windows are half-open, `[from, to)`. */
  readonly to?: number;
  /** Told every so many entries: how many are done, of how many. */
  readonly progress?: (done: number, total: number) => void;
  /** How many changes, suppressed ids and delayed ids the report lists (all are counted); 1000. */
  readonly limit?: number;
  /** Stops the replay (MW_RUNTIME_REPLAY_ABORTED): its client left, or the server is closing. */
  readonly signal?: AbortSignal;
};

/** The fold gives the event loop a turn when it has run this long (a server's requests wait no more). */
const SLICE_MS = 10;

/**
 * Replays recorded traffic against a candidate policy (docs/replay.md): reads what the recording was
 * decided under (its policies, its timeouts), then streams every partition's chain, merged in time
 * order (each chain in its own order), folding each entry into a fresh state under the candidate
 * (replay-engine.ts), and reports what changed. Holds no more of the ledger than one entry per
 * partition. Refused for a candidate of another mesh.
 */
export async function replayLedger(
  ledger: Pick<LedgerReader, 'scan' | 'count'>,
  candidate: Policy,
  opts: ReplayOptions = {},
): Promise<ReplayReport | MeshwardenError> {
  const inWindow = (e: LedgerEntry) =>
    (opts.from === undefined || e.at >= opts.from) && (opts.to === undefined || e.at < opts.to);
  const recordedTimeouts = new Map<string, number>();
  const digests: string[] = [];
  const meshes = new Set<string>();
  let partitions = candidate.partitions;
  const kinds = [ENTRY.policyLoaded, ENTRY.partitionOwned, ENTRY.holdReleased];
  for await (const entry of ledger.scan({ kinds })) {
    if (entry.kind === ENTRY.holdReleased) {
      if (inWindow(entry) && entry.msgId !== undefined && (entry.data as { by?: string }).by === 'timeout')
        recordedTimeouts.set(entry.msgId, entry.at);
      continue;
    }
    const {
      digest,
      mesh,
      partitions: p,
    } = entry.data as { digest?: string; mesh?: string; partitions?: number };
    if (typeof mesh === 'string') meshes.add(mesh);
    if (typeof digest === 'string' && !digests.includes(digest)) digests.push(digest);
    if (typeof p === 'number' && p > partitions) partitions = p;
  }
  if (meshes.size > 0 && !meshes.has(candidate.mesh)) {
    return runtimeError('MW_RUNTIME_REPLAY_MESH', {
      candidate: candidate.mesh,
      recorded: [...meshes].join(', '),
    });
  }
  const total = await ledger.count();
  const limit = opts.limit ?? REPLAY_LIMIT;
  const engine = createReplayEngine(candidate, recordedTimeouts, limit);
  let done = 0;
  let last = Number.NEGATIVE_INFINITY;
  const chains = Array.from({ length: partitions }, (_, p) =>
    ledger.scan({ partition: p })[Symbol.asyncIterator](),
  );
  let slice = performance.now();
  const aborted = () => runtimeError('MW_RUNTIME_REPLAY_ABORTED', { done, total });
  const stopped = () => opts.signal?.aborted === true;
  if (stopped()) return aborted();
  for await (const entry of merged(chains)) {
    done++;
    if ((done & 63) === 0 && performance.now() - slice >= SLICE_MS) {
      opts.progress?.(done, total);
      // A long ledger does not hold the process's other work (a server's requests) up.
      await new Promise((resolve) => setImmediate(resolve));
      if (stopped()) return aborted();
      slice = performance.now();
    }
    if (entry.kind === ENTRY.policyLoaded || entry.kind === ENTRY.partitionOwned) engine.policyInForce(entry);
    if (!inWindow(entry)) continue;
    engine.apply(entry);
    last = entry.at;
  }
  // Timers due before the window's end fire (it is half-open: one due at `to` is the next window's).
  engine.settle(opts.to === undefined ? last : opts.to - 1);
  opts.progress?.(done, total);
  return report(engine.fold, candidate, digests, opts, limit);
}

/**
 * The partitions' chains merged into one order: by time, then hop (a cause before what it caused at
 * the same millisecond), then partition; each chain keeps its own order. Deterministic. Stops every
 * chain's scan when done or abandoned.
 */
async function* merged(chains: readonly AsyncIterator<LedgerEntry>[]): AsyncGenerator<LedgerEntry> {
  const heads: (LedgerEntry | undefined)[] = [];
  try {
    for (const c of chains) {
      const r = await c.next();
      heads.push(r.done === true ? undefined : r.value);
    }
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const e = heads[i];
        if (e !== undefined && (best < 0 || before(e, heads[best]!))) best = i;
      }
      if (best < 0) return;
      const e = heads[best]!;
      const r = await chains[best]!.next();
      heads[best] = r.done === true ? undefined : r.value;
      yield e;
    }
  } finally {
    for (const c of chains) await c.return?.();
  }
}

function before(a: LedgerEntry, b: LedgerEntry): boolean {
  if (a.at !== b.at) return a.at < b.at;
  const ha = hopOf(a);
  const hb = hopOf(b);
  if (ha !== hb) return ha < hb;
  return a.partition < b.partition;
}

function hopOf(e: LedgerEntry): number {
  const hop = (e.data as { envelope?: { hop?: unknown } }).envelope?.hop;
  return typeof hop === 'number' ? hop : 0;
}

function report(
  fold: ReplayFold,
  candidate: Policy,
  digests: readonly string[],
  opts: ReplayOptions,
  limit: number,
): ReplayReport {
  const list = (m: Map<string, ReplayBreaker>) => [...m.values()];
  const minus = (a: Map<string, ReplayBreaker>, b: Map<string, ReplayBreaker>) =>
    [...a].filter(([k]) => !b.has(k)).map(([, v]) => v);
  const matrix: Record<string, number> = {};
  for (const [k, n] of [...fold.matrix].sort(([a], [b]) => a.localeCompare(b))) matrix[k] = n;
  return {
    mesh: candidate.mesh,
    candidate: { digest: candidate.digest, file: candidate.file },
    recordedPolicies: digests,
    sameAsRecorded: digests.includes(candidate.digest),
    ...(opts.from === undefined ? {} : { from: opts.from }),
    ...(opts.to === undefined ? {} : { to: opts.to }),
    decisions: fold.decisions,
    changed: fold.changed,
    changedReleases: fold.changedReleases,
    matrix,
    changes: fold.changes,
    suppressed: fold.suppressed,
    wouldNotHappen: fold.wouldNotHappen,
    suppressedTotal: fold.suppressedTotal,
    delayed: fold.delayed,
    delayedTotal: fold.delayedTotal,
    limit,
    kept: fold.kept,
    versionsAdopted: fold.versionsAdopted,
    pilot: fold.pilot,
    effects: {
      wouldNotRun: fold.wouldNotRun,
      byType: fold.wouldNot,
      wouldRun: fold.wouldRun,
      wouldRunByType: fold.would,
    },
    breakers: {
      recorded: list(fold.recordedBreakers),
      candidate: [...fold.candidateBreakers].map(([k, b]) => {
        const recordedAt = fold.recordedBreakers.get(k)?.at;
        return recordedAt === undefined ? b : { ...b, recordedAt };
      }),
      wouldOpen: minus(fold.candidateBreakers, fold.recordedBreakers),
      wouldNotOpen: minus(fold.recordedBreakers, fold.candidateBreakers),
    },
    drift: { recorded: [...fold.recordedDrift.values()], candidate: [...fold.candidateDrift.values()] },
  };
}
