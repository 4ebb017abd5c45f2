import type { MeshwardenError } from '../envelope/index.js';
import type { LedgerEntry, LedgerReader } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import { runtimeError } from './errors.js';
import { ENTRY } from './records.js';
import { createReplayEngine } from './replay-engine.js';
import type { ReplayFold } from './replay-fold.js';
import { addEffect, type EffectsByType, type ReplayBreaker, type ReplayReport } from './replay-report.js';

export type ReplayOptions = {
  /** Replay only entries at or after this time (ms), with a fresh state there. */
  readonly from?: number;
  /** Replay only entries at or before this time (ms). */
  readonly to?: number;
  /** Told every so many entries: how many are done, of how many. */
  readonly progress?: (done: number, total: number) => void;
};

/**
 * Replays recorded traffic against a candidate policy (docs/replay.md): reads the ledger once, merges
 * its partitions in time order (each partition's chain in its own order), folds every entry into a
 * fresh state under the candidate (replay-engine.ts) and reports what changed. Refused for a
 * candidate of another mesh.
 */
export async function replayLedger(
  ledger: Pick<LedgerReader, 'scan'>,
  candidate: Policy,
  opts: ReplayOptions = {},
): Promise<ReplayReport | MeshwardenError> {
  const chains = new Map<number, LedgerEntry[]>();
  const recordedTimeouts = new Map<string, number>();
  const digests: string[] = [];
  const meshes = new Set<string>();
  let total = 0;
  for await (const entry of ledger.scan({})) {
    if (entry.kind === ENTRY.policyLoaded || entry.kind === ENTRY.partitionOwned) {
      const { digest, mesh } = entry.data as { digest?: string; mesh?: string };
      if (typeof mesh === 'string') meshes.add(mesh);
      if (typeof digest === 'string' && !digests.includes(digest)) digests.push(digest);
    }
    if (opts.from !== undefined && entry.at < opts.from) continue;
    if (opts.to !== undefined && entry.at > opts.to) continue;
    if (
      entry.kind === ENTRY.holdReleased &&
      entry.msgId !== undefined &&
      (entry.data as { by?: string }).by === 'timeout'
    )
      recordedTimeouts.set(entry.msgId, entry.at);
    const chain = chains.get(entry.partition) ?? [];
    if (chain.length === 0) chains.set(entry.partition, chain);
    chain.push(entry);
    total++;
  }
  if (meshes.size > 0 && !meshes.has(candidate.mesh)) {
    return runtimeError('MW_RUNTIME_REPLAY_MESH', {
      candidate: candidate.mesh,
      recorded: [...meshes].join(', '),
    });
  }
  const engine = createReplayEngine(candidate, recordedTimeouts, digests.includes(candidate.digest));
  let done = 0;
  let last = Number.NEGATIVE_INFINITY;
  for (const entry of merged([...chains.values()])) {
    engine.apply(entry);
    last = entry.at;
    if (++done % 5000 === 0) {
      opts.progress?.(done, total);
      // A long ledger does not hold the process's other work (a server's requests) up.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  engine.settle(opts.to ?? last);
  opts.progress?.(done, total);
  return report(engine.fold, candidate, digests, opts);
}

/**
 * The partitions' chains merged into one order: by time, then hop (a cause before what it caused at
 * the same millisecond), then partition; each chain keeps its own order. Deterministic.
 */
function* merged(chains: readonly LedgerEntry[][]): Generator<LedgerEntry> {
  const at = chains.map(() => 0);
  for (;;) {
    let best = -1;
    for (let i = 0; i < chains.length; i++) {
      const e = chains[i]![at[i]!];
      if (e === undefined) continue;
      if (best < 0 || before(e, chains[best]![at[best]!]!)) best = i;
    }
    if (best < 0) return;
    yield chains[best]![at[best]!++]!;
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
): ReplayReport {
  const wouldNot: EffectsByType = {};
  let wouldNotRun = 0;
  for (const [id, env] of fold.recordedEffects) {
    if (fold.candidateEffects.has(id)) continue;
    addEffect(wouldNot as Parameters<typeof addEffect>[0], env);
    wouldNotRun++;
  }
  const would: EffectsByType = {};
  let wouldRun = 0;
  for (const [id, env] of fold.candidateEffects) {
    if (fold.recordedEffects.has(id)) continue;
    addEffect(would as Parameters<typeof addEffect>[0], env);
    wouldRun++;
  }
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
    changed: fold.changes.length,
    matrix,
    changes: fold.changes,
    suppressed: fold.suppressed,
    kept: fold.kept,
    versionsAdopted: fold.versionsAdopted,
    pilot: fold.pilot,
    effects: { wouldNotRun, byType: wouldNot, wouldRun, wouldRunByType: would },
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
