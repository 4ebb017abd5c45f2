// What the distributed-mode tests read back from a cluster's shared ledger: who owned each
// partition when (the `partition.owned` entries), which accepted messages have no decision, which
// admitted work was never handled, and the guards' state rebuilt from the deltas, as a node taking a
// partition over would rebuild it.
import type { Envelope } from '../src/envelope/index.js';
import { openLedgerAt } from '../src/ledger/index.js';
import { isMeshwardenError, type LedgerEntry } from '../src/runtime/index.js';
import { shareOf } from '../src/runtime/partition-shares.js';
import { recoverFromLedger } from '../src/runtime/recovery.js';
import { createMemoryState, parseBreakerKey, type StateStore } from '../src/state/index.js';
import { type ClusterKit, waitFor } from './cluster-kit.js';

/** The entry a node appends to a partition's chain as its first write once it owns it. */
export const OWNED = 'partition.owned';

export type Ownership = {
  readonly partition: number;
  readonly seq: number;
  /** The entry's `at` (ms since the epoch, the node's clock; every node here shares one). */
  readonly at: number;
  readonly node: string;
  readonly epoch: number;
};

/** Every `partition.owned` entry, in chain order per partition (a cheap indexed read). */
export async function ownershipHistory(kit: Pick<ClusterKit, 'query' | 'schema'>): Promise<Ownership[]> {
  const rows = await kit
    .query(
      `SELECT partition, seq, at, body FROM "${kit.schema}".entries WHERE kind = $1 ORDER BY partition, seq`,
      [OWNED],
    )
    .catch(() => ({ rows: [] as { partition: number; seq: string; at: number; body: string }[] }));
  return rows.rows.map((r) => {
    const data = (JSON.parse(r.body) as { data?: { node?: unknown; epoch?: unknown } }).data ?? {};
    return {
      partition: r.partition,
      seq: Number(r.seq),
      at: r.at,
      node: String(data.node),
      epoch: Number(data.epoch),
    };
  });
}

/** Who owns each partition now, by its latest `partition.owned`. */
export function currentOwners(history: readonly Ownership[]): Map<number, string> {
  const owners = new Map<number, string>();
  for (const o of history) owners.set(o.partition, o.node);
  return owners;
}

/**
 * Whether the owners have settled: every partition owned, and each node owning its fair share
 * (`shareOf`), so no hand-off is still to come. Nodes started together pass through uneven
 * splits (the first to join takes everything, then hands partitions off, highest first).
 */
export function fairlyOwned(
  owners: ReadonlyMap<number, string>,
  nodes: readonly string[],
  partitions: number,
): boolean {
  if (owners.size !== partitions) return false;
  const counts = new Map<string, number>();
  for (const node of owners.values()) counts.set(node, (counts.get(node) ?? 0) + 1);
  return nodes.every((n) => counts.get(n) === shareOf(n, nodes, partitions));
}

/**
 * Waits until the partitions are split fairly over `nodes` and the split has held for a second (two
 * lease ticks): the ledger lags the leases, so one fair-looking read can still have a hand-off
 * coming. The owners by partition.
 */
export async function settledSplit(
  kit: Pick<ClusterKit, 'query' | 'schema'>,
  nodes: readonly string[],
  partitions: number,
): Promise<Map<number, string>> {
  let seen: { key: string; at: number } | undefined;
  return waitFor(
    `the ${partitions} partitions split fairly over ${nodes.join(', ')}, and settled`,
    async () => {
      const owners = currentOwners(await ownershipHistory(kit));
      if (!fairlyOwned(owners, nodes, partitions)) {
        seen = undefined;
        return false;
      }
      const key = JSON.stringify([...owners]);
      if (seen?.key !== key) seen = { key, at: Date.now() };
      return Date.now() - seen.at >= 1_000 && owners;
    },
  );
}

/**
 * Where the ledger says a partition may have had two owners: in each chain, the epochs of
 * successive `partition.owned` entries must rise strictly (a new owner's lease is a later create;
 * an owner that wrote after losing its lease would have forked the chain, which verify sees).
 */
export function ownershipProblems(history: readonly Ownership[], partitions: number): string[] {
  const problems: string[] = [];
  const last = new Map<number, Ownership>();
  for (const o of history) {
    if (!Number.isInteger(o.epoch) || o.node === 'undefined')
      problems.push(`p${o.partition} seq ${o.seq}: partition.owned without node and epoch`);
    const before = last.get(o.partition);
    if (before !== undefined && !(o.epoch > before.epoch))
      problems.push(
        `p${o.partition} seq ${o.seq}: ${o.node} epoch ${o.epoch} after ${before.node} epoch ${before.epoch}`,
      );
    last.set(o.partition, o);
  }
  for (let p = 0; p < partitions; p++) if (!last.has(p)) problems.push(`p${p}: never owned`);
  return problems;
}

/** The whole ledger, in (partition, seq) order, through the reader port. */
export async function readLedger(location: string): Promise<LedgerEntry[]> {
  const ledger = await openLedgerAt(location, { create: false });
  if (isMeshwardenError(ledger)) throw new Error(`${ledger.code}: ${ledger.message}`);
  try {
    const entries: LedgerEntry[] = [];
    for await (const entry of ledger.scan()) entries.push(entry);
    return entries;
  } finally {
    await ledger.close();
  }
}

export type LedgerFindings = {
  readonly entries: number;
  /** Ids a node accepted (202) with no decision entry. */
  readonly undecided: readonly string[];
  /** Ids with more than one decision entry: a redelivered item decided again instead of answered. */
  readonly decidedTwice: readonly string[];
  /** Admitted work not finished: a consumer that never handled it, an effect never executed. */
  readonly unhandled: readonly { id: string; type: string; subject: string; waiting: readonly string[] }[];
  /** Open breakers rebuilt from the deltas (`id` a rule id, `loop` or `pilot`). */
  readonly openBreakers: readonly { id: string; key: string; action: string }[];
  /** The keys an open breaker freezes (the loop guard's, a pilot's, a freezing rule's). */
  readonly frozen: readonly string[];
  /** Per subject: admitted `credit.issue` requests, and distinct requests executed. */
  credits(subject: string): { admitted: number; executed: number; executions: number };
};

/**
 * Reads the ledger as recovery does (`recoverFromLedger` over every partition's state): what is
 * still pending is work admitted and never handled, and the state it rebuilds holds the breakers.
 */
export async function ledgerFindings(
  entries: readonly LedgerEntry[],
  partitions: number,
  accepted: readonly string[],
): Promise<LedgerFindings> {
  const decided = new Set<string>();
  const decidedTwice = new Set<string>();
  for (const e of entries) {
    if (e.kind !== 'decision' || e.msgId === undefined) continue;
    if (decided.has(e.msgId)) decidedTwice.add(e.msgId);
    decided.add(e.msgId);
  }
  const states: StateStore[] = Array.from({ length: partitions }, () => createMemoryState());
  const unhandled: { id: string; type: string; subject: string; waiting: string[] }[] = [];
  const reader = {
    async *scan() {
      yield* entries;
    },
    byCausation: async () => [],
  };
  const dispatch = (envelope: Envelope, _gated: unknown, waiting: readonly string[]) =>
    unhandled.push({
      id: envelope.id,
      type: envelope.type,
      subject: envelope.subject,
      waiting: [...waiting],
    });
  await recoverFromLedger(reader, states, dispatch, () => {});
  const openBreakers = states.flatMap((s) =>
    s.openBreakers().map(({ key, state }) => {
      const ref = parseBreakerKey(key);
      return { id: ref?.id ?? key, key: ref?.scopeKey ?? '', action: state.action };
    }),
  );
  return {
    entries: entries.length,
    undecided: accepted.filter((id) => !decided.has(id)),
    decidedTwice: [...decidedTwice],
    unhandled,
    openBreakers,
    frozen: [...new Set(openBreakers.filter((b) => b.action === 'freeze').map((b) => b.key))].sort(),
    credits(subject) {
      const admitted = entries.filter(
        (e) =>
          e.kind === 'decision' &&
          e.subject === subject &&
          (e.data as { envelope?: Envelope }).envelope?.type === 'credit.issue' &&
          (e.data as { verdict?: { decision?: string } }).verdict?.decision === 'deliver',
      ).length;
      const runs = entries.filter(
        (e) => e.kind === 'effect.executed' && e.subject === subject && e.agent === 'effect:credit.issue',
      );
      return { admitted, executed: new Set(runs.map((e) => e.msgId)).size, executions: runs.length };
    },
  };
}

/** Entries in the ledger now (a cheap count, to see it settle). */
export async function entryCount(kit: Pick<ClusterKit, 'query' | 'schema'>): Promise<number> {
  const { rows } = await kit
    .query(`SELECT count(*)::int AS n FROM "${kit.schema}".entries`)
    .catch(() => ({ rows: [{ n: 0 }] }));
  return rows[0].n;
}

/**
 * Waits until the mesh is done with what it was sent: the ledger stopped growing for `quietMs`
 * and, read whole, has a decision for every accepted id and no unhandled work. Returns the last
 * findings (settled or not, at `timeoutMs`) for the assertions to show what is missing.
 */
export async function settle(
  kit: Pick<ClusterKit, 'query' | 'schema' | 'ledger'>,
  partitions: number,
  accepted: readonly string[],
  { quietMs = 3_000, timeoutMs = 90_000 } = {},
): Promise<{ findings: LedgerFindings; entries: LedgerEntry[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let count = await entryCount(kit);
    let quietSince = Date.now();
    while (Date.now() - quietSince < quietMs && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      const now = await entryCount(kit);
      if (now !== count) [count, quietSince] = [now, Date.now()];
    }
    const entries = await readLedger(kit.ledger);
    const findings = await ledgerFindings(entries, partitions, accepted);
    const done = findings.undecided.length === 0 && findings.unhandled.length === 0;
    if (done || Date.now() >= deadline) return { findings, entries };
  }
}
