import { type LedgerReader, type LedgerWriter, sizeOf } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import { parseBreakerKey, type StateStore } from '../state/index.js';
import type { NodeStatus } from './cluster-control.js';
import { type RunCounts, zeroCounts } from './events.js';
import { entityFreezeIds } from './freezes.js';
import { ENTRY } from './records.js';

/** The summary `run --json` and `demo retention --json` print (DESIGN.md "Command line contract"). */
export type RunSummary = {
  readonly messages: RunCounts['messages'];
  readonly effects: RunCounts['effects'];
  readonly breakers: readonly {
    readonly id: string;
    readonly key: string;
    readonly state: 'open';
    readonly action: string;
    readonly openedAt: string;
    readonly closesAt: string | null;
    /** The rule or actor that opened it: a breaker rule id, `loop`, or `pilot:<name>`. */
    readonly by: string;
  }[];
  readonly frozen: readonly string[];
  /** The drift alarms raised during the run, in ledger order (`run` adds them; absent elsewhere). */
  readonly driftAlarms?: readonly RunDriftAlarm[];
  readonly deadLetters: number;
  /** Holds settled since start: by a pilot's approval or rejection, or by their timeout. */
  readonly answered: RunCounts['answered'];
  readonly recovered: number;
  /** By approval rule id: messages its predicate could not be evaluated on (each held). */
  readonly predicateErrors: Readonly<Record<string, number>>;
  readonly ledger: {
    readonly entries: number;
    readonly head: string;
    readonly heads: readonly { readonly partition: number; readonly size: number; readonly head: string }[];
  };
  readonly policy: { readonly mesh: string; readonly digest: string };
  /**
   * Present only when a signal stopped `run` before its input was all fed: which signal, and how
   * many input lines had been read (the rest was never fed; admitted work was finished).
   */
  readonly interrupted?: { readonly signal: string; readonly linesRead: number };
};

/** One drift alarm of a run: which monitor, on which agent version, how far (docs/drift.md). */
export type RunDriftAlarm = {
  readonly monitor: string;
  /** `name@version`. */
  readonly agent: string;
  readonly type: string;
  readonly field: string;
  readonly metric: string;
  readonly score: number;
  readonly threshold: number;
  readonly action: string;
};

/**
 * The drift alarms written after `heads` (the partitions' sizes when the run began): each partition
 * read from there, `drift.alarm` entries only, so a long ledger is not read again.
 */
export async function driftAlarmsSince(
  ledger: Pick<LedgerReader, 'scan'>,
  heads: readonly { readonly partition: number; readonly size: number }[],
): Promise<RunDriftAlarm[]> {
  const out: RunDriftAlarm[] = [];
  for (const { partition, size } of heads)
    for await (const e of ledger.scan({ partition, afterSeq: size, kinds: [ENTRY.driftAlarm] })) {
      const d = e.data as Record<string, unknown>;
      out.push({
        monitor: String(d.monitor),
        agent: String(d.agent),
        type: String(d.type),
        field: String(d.field),
        metric: String(d.metric),
        score: Number(d.score),
        threshold: Number(d.threshold),
        action: String(d.action),
      });
    }
  return out;
}

/**
 * Every partition's head as the store holds it now, whoever wrote it (a cluster node's writer knows
 * only the heads of the partitions it owns). Partitions with no entry are left out, as `heads()` does.
 */
export async function storedHeads(
  ledger: Pick<LedgerReader, 'newestSeq' | 'scan'>,
  partitions: number,
): Promise<{ partition: number; size: number; head: string }[]> {
  const heads = await Promise.all(
    Array.from({ length: partitions }, async (_, partition) => {
      const size = await ledger.newestSeq(partition);
      if (size === 0) return undefined;
      for await (const entry of ledger.scan({ partition, afterSeq: size - 1 }))
        return { partition, size, head: entry.hash };
      return undefined;
    }),
  );
  return heads.filter((h) => h !== undefined);
}

export function summarize(
  counts: RunCounts,
  state: Pick<StateStore, 'openBreakers'>,
  ledger: Pick<LedgerWriter, 'heads'>,
  policy: Policy,
): RunSummary {
  const breakers = state.openBreakers().flatMap(({ key, state: b }) => {
    const ref = parseBreakerKey(key);
    return ref === undefined
      ? []
      : [
          {
            id: ref.id,
            key: ref.scopeKey,
            state: 'open' as const,
            action: b.action,
            openedAt: new Date(b.openedAt).toISOString(),
            closesAt: b.closesAt === undefined ? null : new Date(b.closesAt).toISOString(),
            by: b.by,
          },
        ];
  });
  // An entity is frozen by the loop guard, a pilot, or an entity-scoped breaker whose action is freeze.
  const entityFreezes = new Set(entityFreezeIds(policy));
  const frozen = [
    ...new Set(breakers.filter((b) => entityFreezes.has(b.id) && b.action === 'freeze').map((b) => b.key)),
  ].sort();
  const heads = ledger.heads();
  return {
    messages: counts.messages,
    effects: counts.effects,
    breakers,
    frozen,
    deadLetters: counts.deadLetters,
    answered: counts.answered,
    recovered: counts.recovered,
    predicateErrors: counts.predicateErrors,
    ledger: { entries: sizeOf(heads), head: heads[0]?.head ?? '', heads },
    policy: { mesh: policy.mesh, digest: policy.digest },
  };
}

/**
 * What a run of a cluster node counts (`run --cluster`): every node's counts at the end less what
 * it had counted when the run began (a node that started meanwhile counts whole; one that died
 * meanwhile is missing), and the breakers open anywhere in the mesh.
 */
export function clusterCounts(
  before: readonly NodeStatus[],
  after: readonly NodeStatus[],
): { counts: RunCounts; state: Pick<StateStore, 'openBreakers'> } {
  const counts = zeroCounts();
  const earlier = new Map(before.map((n) => [n.node, n.counts]));
  for (const n of after) {
    const from = earlier.get(n.node) ?? zeroCounts();
    for (const k of Object.keys(counts.messages) as (keyof RunCounts['messages'])[])
      counts.messages[k] += n.counts.messages[k] - from.messages[k];
    for (const k of Object.keys(counts.effects) as (keyof RunCounts['effects'])[])
      counts.effects[k] += n.counts.effects[k] - from.effects[k];
    counts.deadLetters += n.counts.deadLetters - from.deadLetters;
    counts.recovered += n.counts.recovered - from.recovered;
    // A node of an older version reports no `answered`.
    for (const k of Object.keys(counts.answered) as (keyof RunCounts['answered'])[])
      counts.answered[k] += (n.counts.answered?.[k] ?? 0) - (from.answered?.[k] ?? 0);
    for (const [rule, c] of Object.entries(n.counts.predicateErrors))
      counts.predicateErrors[rule] =
        (counts.predicateErrors[rule] ?? 0) + c - (from.predicateErrors[rule] ?? 0);
  }
  const open = new Map<string, NodeStatus['breakers'][number]>();
  for (const n of after) for (const b of n.breakers) if (!open.has(b.key)) open.set(b.key, b);
  const breakers = [...open.values()].sort((a, b) => a.key.localeCompare(b.key));
  return { counts, state: { openBreakers: () => breakers } };
}
