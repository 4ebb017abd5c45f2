// node bench/partition-rebuild.ts [entries=1000000] [--subjects 10000] [--every 100000] [--location postgres://…]:
// how long a node taking a partition over takes to rebuild it (`recoverPartition`) from a
// PostgreSQL ledger whose partition 0 holds `entries` entries: from the whole chain, and from a
// snapshot `every` entries behind the head (plus the tail), and what writing a snapshot costs.
// The entries are what the runtime writes for cases of three hops about one of `subjects`
// accounts: a root decision, an agent's decision, an effect request (each with its rate-limit,
// breaker-count, budget, echo and seen-id deltas as the gate writes them) and the effect's
// execution. Needs a PostgreSQL server (MW_BENCH_POSTGRES, else
// postgres://postgres@127.0.0.1:5432/test) and a build (`npm run build`); runs in a schema of its
// own, dropped after. Not part of `npm run bench`. Writes bench/results/partition-rebuild.json.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { Envelope } from '../dist/envelope/index.js';
import { type Ledger, type LedgerRecord, openPostgresLedger } from '../dist/ledger/index.js';
import { snapshotPartition } from '../dist/runtime/partition-snapshot.js';
import { decisionRecord, effectExecutedRecord } from '../dist/runtime/records.js';
import { recoverPartition } from '../dist/runtime/recovery.js';
import {
  breakerCountKey,
  bucketKey,
  budgetKey,
  createMemoryState,
  type StateDelta,
  takeToken,
  windowAdd,
} from '../dist/state/index.js';
import { msgId } from './scale.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    subjects: { type: 'string', default: '10000' },
    every: { type: 'string', default: '100000' },
    location: { type: 'string' },
  },
});
const entries = Number(positionals[0] ?? 1_000_000);
const subjects = Number(values.subjects);
const every = Number(values.every);
const location =
  values.location ?? process.env.MW_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const CASE = 4; // entries per case
const IN_FLIGHT = 4_096;
const BASE = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;
const POLICY = 'sha256:6f1c0e1b2a3d4c5b6a79881726354433221100ffeeddccbbaa99887766554433';

/** The state the gate would hold, so each delta carries the absolute value the gate would write. */
const buckets = new Map<string, { tat: number }>();
const windows = new Map<string, ReturnType<typeof windowAdd>>();
const take = (key: string, now: number): StateDelta => {
  const taken = takeToken(buckets.get(key), now, 2_000, 30); // 30/min
  const state = taken.ok ? taken.state : { tat: now };
  buckets.set(key, state);
  return { kind: 'bucket', key, state };
};
const count = (key: string, now: number, amount: number, windowMs: number): StateDelta => {
  const state = windowAdd(windows.get(key), now, windowMs, amount);
  windows.set(key, state);
  return { kind: 'window', key, state };
};

const envelopeOf = (c: number, hop: number, ids: readonly string[], at: number): Envelope => {
  const subject = `account:${c % subjects}`;
  const source = ['mesh://bench/inbox', 'mesh://bench/churn@2.0.1', 'mesh://bench/discount@1.1.0'][hop]!;
  const type = ['ticket.opened.v1', 'churn.assessed.v1', 'credit.issue'][hop]!;
  const data = [{ text: `ticket ${c} about the invoice` }, { probability: (c % 100) / 100 }, { amount: 25 }][
    hop
  ]!;
  return {
    ancestry: ['', '3f2a9c01d4e5', '3f2a9c01d4e5 77b01c2e9a40'][hop]!,
    ...(hop === 0 ? {} : { causationid: ids[hop - 1]! }),
    correlationid: ids[0]!,
    data,
    datacontenttype: 'application/json',
    hop,
    id: ids[hop]!,
    policydigest: POLICY,
    source,
    specversion: '1.0',
    subject,
    time: new Date(at).toISOString(),
    type,
  } as unknown as Envelope;
};

const admitted = {
  decision: 'deliver',
  detail: 'passed every guard.',
  reason: 'gate.admitted',
  stage: 'gate',
} as const;

/** Case `c`: a root, an agent's message, an effect request, the effect's execution. */
function caseRecords(c: number): LedgerRecord[] {
  const at = BASE + c * 40; // 100 entries/s
  const ids = [0, 1, 2].map((h) => msgId(at + h, c * 3 + h));
  const subject = `account:${c % subjects}`;
  const [root, assessed, credit] = [0, 1, 2].map((h) => envelopeOf(c, h, ids, at + h));
  const rootDeltas: StateDelta[] = [take(bucketKey('per-account', subject), at)];
  // One root in ten comes from a partner with an id of its own: the gate remembers it.
  if (c % 10 === 0) rootDeltas.push({ kind: 'seen', id: ids[0]!, at });
  const creditDeltas: StateDelta[] = [
    take(bucketKey('per-account', subject), at + 2),
    count(budgetKey('credit-per-account', subject), at + 2, 25, 24 * HOUR),
    count(breakerCountKey('credit-burst', subject), at + 2, 1, HOUR),
    {
      kind: 'echo',
      subject,
      mark: {
        fingerprints: ['a1b2c3d4e5f60718'],
        effectId: ids[2]!,
        effect: 'credit.issue',
        correlationid: ids[0]!,
        hop: 3,
        ancestry: '3f2a9c01d4e5 77b01c2e9a40 0c5d1e2f3a4b',
        at: at + 2,
      },
    },
  ];
  return [
    decisionRecord(at, ids[0]!, {
      consumers: ['churn'],
      deltas: rootDeltas,
      envelope: root!,
      gated: 'message',
      verdict: admitted,
    }),
    decisionRecord(at + 1, ids[1]!, {
      consumers: ['discount'],
      deltas: [take(bucketKey('per-account', subject), at + 1)],
      envelope: assessed!,
      gated: 'message',
      verdict: admitted,
    }),
    decisionRecord(at + 2, ids[2]!, {
      deltas: creditDeltas,
      envelope: credit!,
      gated: 'effect',
      verdict: admitted,
    }),
    effectExecutedRecord(at + 3, credit!, 1, { ok: true }, `tok-${ids[2]!.slice(-12)}`),
  ];
}

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Appends cases `from` (inclusive) to `to` (exclusive) to partition 0. */
async function write(ledger: Ledger, from: number, to: number): Promise<void> {
  let last: Promise<unknown> = Promise.resolve();
  let since = 0;
  for (let c = from; c < to; c++) {
    last = ledger.appendAll(caseRecords(c), 0);
    since += CASE;
    if (since >= IN_FLIGHT) {
      await last;
      since = 0;
    }
  }
  await last;
  await ledger.flush();
}

/** `recoverPartition` into a fresh partition 0, timed. */
async function rebuild(ledger: Ledger, snapshots: boolean) {
  const state = createMemoryState();
  let recalled = 0;
  const partition = {
    index: 0,
    state,
    holds: { armAll: () => {} },
    failures: { recall: () => void recalled++ },
  } as unknown as Parameters<typeof recoverPartition>[1];
  const t0 = process.hrtime.bigint();
  const { resumed } = await recoverPartition(ledger, partition, () => {}, { snapshots });
  const took = round(seconds(t0));
  // A snapshot keeps live state only: compared at the last entry's time, both rebuilds hold the same.
  state.evict(lastAt);
  return { seconds: took, resumed, liveKeys: state.size(), recalled };
}

async function snapshot(ledger: Ledger) {
  const t0 = process.hrtime.bigint();
  const written = await snapshotPartition(ledger, 0);
  return { seconds: round(seconds(t0)), ...written };
}

const admin = new pg.Pool({ connectionString: location, max: 1 });
const schema = `mw_bench_${randomBytes(5).toString('hex')}`;
const url = new URL(location);
url.searchParams.set('schema', schema);
const cases = Math.ceil(entries / CASE);
const behind = Math.min(cases, Math.ceil(every / CASE));
const lastAt = BASE + (cases - 1) * 40 + 3;
process.stderr.write(
  `${cases * CASE} entries in partition 0, ${subjects} subjects, snapshot ${behind * CASE} behind\n`,
);
let results: Record<string, unknown>;
try {
  const ledger = await openPostgresLedger({ location: url.href, origin: 'bench' });
  try {
    const t0 = process.hrtime.bigint();
    await write(ledger, 0, cases - behind);
    const first = await snapshot(ledger); // from scratch: the whole chain so far
    await write(ledger, cases - behind, cases);
    const writeSeconds = seconds(t0) - first.seconds;
    const full = await rebuild(ledger, false);
    const fromSnapshot = await rebuild(ledger, true);
    const next = await snapshot(ledger); // the owner's periodic one: the last snapshot plus `every` entries
    const atHead = await rebuild(ledger, true);
    const size = await admin.query(
      `SELECT pg_total_relation_size('"${schema}".entries')::float8 AS entries, pg_total_relation_size('"${schema}".snapshots')::float8 AS snapshots`,
    );
    results = {
      at: new Date().toISOString(),
      node: process.version,
      entries: cases * CASE,
      subjects,
      behind: behind * CASE,
      writeSeconds: round(writeSeconds, 1),
      tableMB: round(size.rows[0].entries / 2 ** 20, 1),
      rebuildFullChain: full,
      rebuildFromSnapshot: fromSnapshot,
      rebuildSnapshotAtHead: atHead,
      firstSnapshot: first,
      nextSnapshot: next,
    };
  } finally {
    await ledger.close();
  }
} finally {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
}
const out = new URL('./results/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'partition-rebuild.json'), `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(results, null, 2)}\nwrote bench/results/partition-rebuild.json\n`);
