// Scale (issue 5 item 4): the gate and memory state over many distinct entities, and a large ledger
// (append rate, verify time, `why` query time). bench/run.ts imports the two functions; run alone
// with `node bench/scale.ts [--quick]` (on the built dist/: `npm run build` first).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { decide } from '../dist/gate/index.js';
import { type LedgerRecord, openLedger } from '../dist/ledger/index.js';
import { loadPolicy } from '../dist/policy/index.js';
import { whyChain } from '../dist/runtime/index.js';
import { createMemoryState } from '../dist/state/index.js';
import { prng } from './stats.ts';

export type ScaleOptions = { readonly quick: boolean; readonly progress: (line: string) => void };

const meshFile = new URL('./mesh/mesh.yaml', import.meta.url).pathname;
const BASE = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;

/** A forced full GC, so heap numbers are live data only (works without node --expose-gc). */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function settledMemory(gc: () => void): { heap: number; rss: number } {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function uuid(n: number): string {
  return `0190a0b0-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** A hop-1 envelope as agent `one` (step.two.v1) or `two` (step.three.v1) emits it. */
function hop(n: number, type: 'step.two.v1' | 'step.three.v1', subject: string, at: string) {
  return {
    specversion: '1.0',
    id: uuid(n),
    source: type === 'step.two.v1' ? 'mesh://bench/one@1.0.0' : 'mesh://bench/two@1.0.0',
    type,
    time: at,
    subject,
    data: { value: 1 + (n % 500) },
    datacontenttype: 'application/json',
    correlationid: '0190a0b0-0000-7000-8000-000000000000',
    causationid: '0190a0b0-0000-7000-8000-000000000001',
    hop: 1,
    ancestry: '0a1b2c3d4e5f',
  };
}

/**
 * The gate and the memory store over `entities` distinct subjects, every gate stage active
 * (bench/mesh/mesh.yaml). Each entity gets a step.two.v1 then a step.three.v1 decision (more passes
 * for small counts), so it ends up with a rate-limit bucket, a budget window and a breaker-count window. Reports decisions/s, live
 * keys, heap and RSS bytes per entity (after forced GCs), and the keys left after `evict` once every
 * window and bucket is back to neutral (the target is none).
 */
export async function entityScale(entities: number, opts: ScaleOptions): Promise<Record<string, number>> {
  const loaded = await loadPolicy(meshFile);
  if (!loaded.ok) throw new Error('bench policy invalid');
  const policy = loaded.policy;
  const gc = collector();
  const time = new Date(BASE).toISOString();

  // Warm the gate on a throwaway store, so code and policy caches are not counted as state.
  const warm = createMemoryState();
  for (let i = 0; i < 20_000; i++) {
    const d = decide(
      {
        candidate: hop(i, i % 2 ? 'step.three.v1' : 'step.two.v1', `warm:${i % 1_000}`, time),
        size: 400,
        kind: 'message',
        now: BASE + i,
        external: false,
      },
      policy,
      warm,
    );
    warm.apply(d.deltas);
  }

  const before = settledMemory(gc);
  const state = createMemoryState();
  const types = ['step.two.v1', 'step.three.v1'] as const;
  // At least two passes (both types for every entity), and enough decisions for a steady rate.
  const passes = Math.max(2, Math.ceil(200_000 / entities));
  const decisions = passes * entities;
  let gateNs = 0n;
  let now = BASE;
  let lastReport = Date.now();
  const started = process.hrtime.bigint();
  for (let pass = 0; pass < passes; pass++) {
    const type = types[pass % 2]!;
    for (let i = 0; i < entities; i++) {
      const n = pass * entities + i;
      const candidate = hop(n, type, `entity:${i}`, time);
      now++;
      const t0 = process.hrtime.bigint();
      const decision = decide({ candidate, size: 400, kind: 'message', now, external: false }, policy, state);
      state.apply(decision.deltas);
      gateNs += process.hrtime.bigint() - t0;
      if (decision.verdict.decision !== 'deliver')
        throw new Error(`unexpected verdict ${decision.verdict.reason} for entity ${i}`);
      if ((n & 0xffff) === 0 && Date.now() - lastReport > 5_000) {
        lastReport = Date.now();
        opts.progress(`  entities ${entities}: ${n} of ${decisions} decisions`);
      }
    }
  }
  const wall = seconds(started);
  const liveKeys = state.size();
  const after = settledMemory(gc);

  // The runtime's periodic pass (every 5 s) right after the burst: full buckets go, windows stay.
  // In steps of 8,192 keys, as the runtime runs it (mesh-life.ts, EVICT_STEP): the longest step is
  // how long the pass holds the event loop at once.
  const t0 = process.hrtime.bigint();
  const steps = state.evictInSteps(now, 8_192);
  let longestStepNs = 0n;
  let periodicEvicted = 0;
  for (;;) {
    const s0 = process.hrtime.bigint();
    const step = steps.next();
    const took = process.hrtime.bigint() - s0;
    if (took > longestStepNs) longestStepNs = took;
    if (step.done) {
      periodicEvicted = step.value;
      break;
    }
  }
  const periodicEvictSeconds = seconds(t0);
  const keysAfterPeriodicEvict = state.size();
  const windowsOnly = settledMemory(gc);

  // Past every window (1h, plus a slot) and every bucket refill: everything is neutral again.
  const t1 = process.hrtime.bigint();
  const evicted = state.evict(now + 2 * HOUR);
  const evictSeconds = seconds(t1);
  const emptied = settledMemory(gc);
  // Keep `state` and the warm store reachable until the last measurement.
  if (warm.size() === 0 || state.size() < 0) throw new Error('unreachable');

  return {
    entities,
    decisions,
    decisionsPerSecond: Math.round(decisions / (Number(gateNs) / 1e9)),
    wallDecisionsPerSecond: Math.round(decisions / wall),
    liveKeys,
    keysPerEntity: round(liveKeys / entities, 2),
    heapBytesPerEntity: Math.round((after.heap - before.heap) / entities),
    rssBytesPerEntity: Math.round((after.rss - before.rss) / entities),
    periodicEvicted,
    periodicEvictSeconds: round(periodicEvictSeconds, 3),
    periodicEvictLongestStepMs: round(Number(longestStepNs) / 1e6, 2),
    keysAfterPeriodicEvict,
    heapBytesPerEntityWindowsOnly: Math.round((windowsOnly.heap - before.heap) / entities),
    evicted: periodicEvicted + evicted,
    evictSeconds: round(evictSeconds, 3),
    keysAfterEvict: state.size(),
    heapBytesPerEntityAfterEvict: Math.round((emptied.heap - before.heap) / entities),
  };
}

/** A UUIDv7-shaped id: time-ordered prefix, then the counter spread over the random bits. */
export function msgId(at: number, n: number): string {
  const t = at.toString(16).padStart(12, '0');
  const r = Math.imul(n, 0x9e3779b1) >>> 0;
  return `${t.slice(0, 8)}-${t.slice(8)}-7${(n & 0xfff).toString(16).padStart(3, '0')}-8${(r & 0xfff).toString(16).padStart(3, '0')}-${n.toString(16).padStart(12, '0')}`;
}

/** Messages per case: a root (hop 0) and its descendants down to hop 8, then the leaf's delivery. */
const CHAIN = 9;
const ENTRIES_PER_CASE = CHAIN + 1;
/** Cases in flight at once: their hops interleave in the ledger as concurrent pipelines do. */
const IN_FLIGHT = 1_000;
const AGENTS = ['ingress:inbox', 'one@1.0.0', 'two@1.0.0', 'three@1.0.0'] as const;

/** The decision the runtime writes for an admitted hop: verdict and envelope, about 650 bytes of data (a body of about 925). */
export function decisionRecord(c: number, hop: number, at: number, ids: readonly string[]): LedgerRecord {
  const id = ids[hop]!;
  const subject = `account:${c % 100_003}`;
  const agent = AGENTS[Math.min(hop, 3)]!;
  const source = hop === 0 ? 'mesh://bench/inbox' : `mesh://bench/${agent}`;
  const type = `step.h${hop}.v1`;
  // Members in canonical order, as the runtime builds them (see envelope/canonical.ts).
  const envelope = {
    ancestry: '3f2a9c01d4e5 77b01c2e9a40 0c5d1e2f3a4b'.slice(0, Math.min(hop, 3) * 13),
    ...(hop === 0 ? {} : { causationid: ids[hop - 1]! }),
    correlationid: ids[0]!,
    data: { value: (c * 7 + hop) % 1_000 },
    datacontenttype: 'application/json',
    hop,
    id,
    policydigest: 'sha256:6f1c0e1b2a3d4c5b6a79881726354433221100ffeeddccbbaa99887766554433',
    source,
    specversion: '1.0',
    subject,
    time: new Date(at).toISOString(),
    type,
  };
  return {
    kind: 'decision',
    at,
    msgId: id,
    ...(hop === 0 ? {} : { causationId: ids[hop - 1]! }),
    correlationId: ids[0]!,
    subject,
    agent,
    data: {
      envelope,
      gated: 'message',
      verdict: {
        decision: 'deliver',
        detail: `${type} from ${agent} for ${subject} passed every guard.`,
        reason: 'gate.admitted',
        stage: 'gate',
      },
    },
  };
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * A ledger of `entries` entries in a temp dir through openLedger: cases of 9 causally chained
 * decisions (hop 0 to 8) and the leaf's delivery, 1,000 cases interleaved. Reports the append rate,
 * `verify()` time, `lineage` and `whyChain` times for 1,000 random hop-8 messages (p50/p99 ms), and
 * the file size.
 */
export async function ledgerScale(entries: number, opts: ScaleOptions): Promise<Record<string, number>> {
  const cases = Math.max(1, Math.floor(entries / ENTRIES_PER_CASE));
  const total = cases * ENTRIES_PER_CASE;
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-scale-'));
  const file = join(dir, 'ledger.db');
  const random = prng(0x5ca1e);
  const wanted = new Set<number>();
  const samples = Math.min(1_000, cases);
  while (wanted.size < samples) wanted.add(Math.floor(random() * cases));
  const leaves: string[] = [];
  try {
    const ledger = openLedger({ file, origin: 'bench' });
    let at = BASE;
    let n = 0;
    let last: Promise<unknown> = Promise.resolve();
    let lastReport = Date.now();
    const started = process.hrtime.bigint();
    for (let first = 0; first < cases; first += IN_FLIGHT) {
      const group = Math.min(IN_FLIGHT, cases - first);
      const ids: string[][] = [];
      for (let k = 0; k < group; k++) {
        const row: string[] = [];
        for (let h = 0; h < CHAIN; h++) row.push(msgId(at + h, (first + k) * CHAIN + h));
        ids.push(row);
      }
      for (let h = 0; h <= CHAIN; h++) {
        at++;
        for (let k = 0; k < group; k++) {
          const c = first + k;
          const record: LedgerRecord =
            h < CHAIN
              ? decisionRecord(c, h, at, ids[k]!)
              : {
                  kind: 'delivered',
                  at,
                  msgId: ids[k]![CHAIN - 1]!,
                  subject: `account:${c % 100_003}`,
                  agent: 'sink@1.0.0',
                  data: { attempt: 1 },
                };
          last = ledger.append(record);
          if ((++n & 0xfff) === 0) {
            await last;
            if (Date.now() - lastReport > 5_000) {
              lastReport = Date.now();
              const s = seconds(started);
              opts.progress(`  ledger: ${n} of ${total} entries appended (${Math.round(n / s)}/s)`);
            }
          }
        }
      }
      for (let k = 0; k < group; k++) if (wanted.has(first + k)) leaves.push(ids[k]![CHAIN - 1]!);
    }
    await last;
    await ledger.flush();
    const appendSeconds = seconds(started);

    opts.progress(`  ledger: verifying ${total} entries …`);
    const v0 = process.hrtime.bigint();
    const verified = await ledger.verify();
    const verifySeconds = seconds(v0);
    if (!verified.ok || verified.entries !== total)
      throw new Error(`verify failed: ${JSON.stringify(verified)}`);

    opts.progress(`  ledger: lineage and why for ${leaves.length} hop-8 messages …`);
    const lineageMs = new Float64Array(leaves.length);
    const whyMs = new Float64Array(leaves.length);
    for (const [i, id] of leaves.entries()) {
      const t0 = process.hrtime.bigint();
      const chain = await ledger.lineage(id);
      lineageMs[i] = Number(process.hrtime.bigint() - t0) / 1e6;
      if (chain.length !== CHAIN) throw new Error(`lineage of ${id} has ${chain.length} links`);
    }
    for (const [i, id] of leaves.entries()) {
      const t0 = process.hrtime.bigint();
      const why = await whyChain(ledger, id);
      whyMs[i] = Number(process.hrtime.bigint() - t0) / 1e6;
      if (why?.chain.length !== CHAIN) throw new Error(`why of ${id} has ${why?.chain.length} links`);
    }
    lineageMs.sort();
    whyMs.sort();
    await ledger.close();
    const bytes = ['ledger.db', 'ledger.db-wal'].reduce((sum, f) => {
      try {
        return sum + statSync(join(dir, f)).size;
      } catch {
        return sum;
      }
    }, 0);
    return {
      entries: total,
      appendSeconds: round(appendSeconds, 1),
      appendsPerSecond: Math.round(total / appendSeconds),
      verifySeconds: round(verifySeconds, 1),
      verifyEntriesPerSecond: Math.round(total / verifySeconds),
      whyDepth: CHAIN - 1,
      lineageP50ms: round(quantile(lineageMs, 0.5), 3),
      lineageP99ms: round(quantile(lineageMs, 0.99), 3),
      whyChainP50ms: round(quantile(whyMs, 0.5), 3),
      whyChainP99ms: round(quantile(whyMs, 0.99), 3),
      fileBytes: bytes,
      bytesPerEntry: Math.round(bytes / total),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Sizes for a run: the full ledger is the 10M entries. On this 2-core machine appends run at
 * about 75,000/s and verify at about 150,000/s, so it takes about 3.5 of the bench's 10 minutes.
 */
/**
 * Heap bytes per entity as a table prints it: below 100,000 entities the store's growth is smaller
 * than what a forced GC leaves over from run to run (the 1,000-entity row read negative), so no figure.
 */
export function heapPerEntityText(e: { entities?: number; heapBytesPerEntity?: number }): string {
  return (e.entities ?? 0) < 100_000 ? 'n/a (too few to weigh)' : String(e.heapBytesPerEntity);
}

export const SCALE_SIZES = {
  entities: { full: [1_000, 100_000, 1_000_000], quick: [1_000, 100_000] },
  ledgerEntries: { full: 10_000_000, quick: 100_000 },
} as const;

/** Runs both at the sizes for `quick`, printing a table to stdout and progress to stderr. */
async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  const opts = { quick, progress };
  const entities: Record<string, number>[] = [];
  for (const n of quick ? SCALE_SIZES.entities.quick : SCALE_SIZES.entities.full) {
    progress(`scale: gate and memory state over ${n.toLocaleString('en')} entities …`);
    entities.push(await entityScale(n, opts));
  }
  const size = quick ? SCALE_SIZES.ledgerEntries.quick : SCALE_SIZES.ledgerEntries.full;
  progress(`scale: a ledger of ${size.toLocaleString('en')} entries …`);
  const ledger = await ledgerScale(size, opts);

  const rows: [string, string, string][] = [];
  for (const e of entities) {
    const at = `${e.entities!.toLocaleString('en')} entities`;
    rows.push([`${at}: decisions/s`, String(e.decisionsPerSecond), '']);
    rows.push([`${at}: heap bytes/entity`, heapPerEntityText(e), 'target ≤ 300 at 1M']);
    rows.push([`${at}: RSS bytes/entity`, String(e.rssBytesPerEntity), '']);
    rows.push([`${at}: keys after evict`, String(e.keysAfterEvict), 'target 0']);
    rows.push([
      `${at}: periodic evict s, longest step ms`,
      `${e.periodicEvictSeconds} / ${e.periodicEvictLongestStepMs}`,
      'the event loop is held one step at a time',
    ]);
  }
  const l = `ledger ${ledger.entries!.toLocaleString('en')}`;
  rows.push([`${l}: appends/s`, String(ledger.appendsPerSecond), '']);
  rows.push([`${l}: verify s`, String(ledger.verifySeconds), `${ledger.verifyEntriesPerSecond}/s`]);
  rows.push([
    `${l}: why (lineage) p50/p99 ms`,
    `${ledger.lineageP50ms}/${ledger.lineageP99ms}`,
    'target < 10',
  ]);
  rows.push([`${l}: whyChain p50/p99 ms`, `${ledger.whyChainP50ms}/${ledger.whyChainP99ms}`, 'target < 10']);
  rows.push([
    `${l}: file MB`,
    String(Math.round(ledger.fileBytes! / 1e6)),
    `${ledger.bytesPerEntry} B/entry`,
  ]);
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [name, value, note] of rows)
    process.stdout.write(`${name.padEnd(width)}  ${value.padStart(12)}  ${note}\n`);
  process.stdout.write(`${JSON.stringify({ quick, entities, ledger }, null, 2)}\n`);
}

if (import.meta.main) await main();
