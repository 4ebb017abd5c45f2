// npm run bench [-- --quick]: guarded hops/s through the whole runtime with the durable ledger, and
// the gate's decision time. Prints a table, writes bench/results/latest.json. Runs on the built
// dist/ (npm run bench builds first) so that it measures what users run.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { readEnvelope } from '../dist/envelope/index.js';
import { decide } from '../dist/gate/index.js';
import { loadPolicy } from '../dist/policy/index.js';
import { openMesh } from '../dist/runtime/index.js';
import { createMemoryState } from '../dist/state/index.js';

const quick = process.argv.includes('--quick');
const meshFile = new URL('./mesh/mesh.yaml', import.meta.url).pathname;
const log = pino({ level: 'silent' });
const progress = (text: string) => process.stderr.write(`${text}\n`);

type Result = Record<string, number | string>;

/** Pipelines of three agents through the whole runtime: gate, SQLite ledger (group commit), delivery. */
async function runtimeHops(pipelines: number, entities: number): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-bench-'));
  try {
    const opened = await openMesh({ meshFile, dataDir: dir, log });
    if (!opened.ok) throw new Error(`bench mesh failed to open: ${JSON.stringify(opened)}`);
    await using o = opened.opened;
    const started = process.hrtime.bigint();
    const window = 2_000; // roots in flight at once
    for (let i = 0; i < pipelines; i++) {
      const done = o.mesh.inject('feed', {
        type: 'step.one.v1',
        subject: `entity:${i % entities}`,
        data: { value: i },
      });
      if (i % window === window - 1) await done;
    }
    await o.mesh.idle();
    await o.ledger.flush();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const c = o.mesh.counts();
    const hops = c.messages.admitted;
    if (c.messages.denied + c.messages.held + c.messages.quarantined > 0)
      throw new Error(`unexpected verdicts: ${JSON.stringify(c)}`);
    return {
      pipelines,
      entities,
      hops,
      seconds: round(seconds, 3),
      hopsPerSecond: Math.round(hops / seconds),
      pipelinesPerSecond: Math.round(pipelines / seconds),
      ledgerEntries: o.ledger.count(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The gate alone: decide() over hop-1 envelopes for many distinct entities, all 8 stages active. */
async function gateLatency(decisions: number, entities: number): Promise<Result> {
  const loaded = await loadPolicy(meshFile);
  if (!loaded.ok) throw new Error('bench policy invalid');
  const policy = loaded.policy;
  const state = createMemoryState();
  const base = Date.parse('2026-01-01T00:00:00Z');
  const samples = new Float64Array(decisions);
  const types = ['step.two.v1', 'step.three.v1'] as const;
  for (let i = 0; i < decisions; i++) {
    const type = types[i % 2]!;
    const candidate = {
      specversion: '1.0',
      id: `0190a0b0-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
      source: type === 'step.two.v1' ? 'mesh://bench/one@1.0.0' : 'mesh://bench/two@1.0.0',
      type,
      time: '2026-01-01T00:00:00.000Z',
      subject: `entity:${i % entities}`,
      data: { value: i },
      datacontenttype: 'application/json',
      correlationid: '0190a0b0-0000-7000-8000-000000000000',
      causationid: '0190a0b0-0000-7000-8000-000000000001',
      hop: 1,
      ancestry: '0a1b2c3d4e5f',
    };
    if (!readEnvelope(candidate).ok) throw new Error('bench envelope malformed');
    const now = base + i;
    const t0 = process.hrtime.bigint();
    const decision = decide({ candidate, size: 400, kind: 'message', now, external: false }, policy, state);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1_000;
    state.apply(decision.deltas);
    if (decision.verdict.decision !== 'deliver')
      throw new Error(`unexpected verdict ${decision.verdict.reason}`);
  }
  const warm = samples.subarray(Math.min(10_000, decisions / 10)).sort();
  const at = (q: number) => round(warm[Math.min(warm.length - 1, Math.floor(q * warm.length))]!, 2);
  return { decisions, entities, p50us: at(0.5), p99us: at(0.99), p999us: at(0.999), stateKeys: state.size() };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

const pipelines = quick ? 5_000 : 50_000;
progress(`runtime: ${pipelines} pipelines of 3 hops, durable ledger …`);
const runtime = await runtimeHops(pipelines, 1_000);
progress(`gate: ${quick ? 50_000 : 300_000} decisions over 100,000 entities …`);
const gate = await gateLatency(quick ? 50_000 : 300_000, 100_000);

const results = {
  at: new Date().toISOString(),
  node: process.version,
  quick,
  targets: { hopsPerSecond: 50_000, gateP99us: 50 },
  runtime,
  gate,
};
const out = new URL('./results/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);

const rows = [
  ['runtime hops/s (durable)', String(runtime.hopsPerSecond), `target ≥ ${results.targets.hopsPerSecond}`],
  ['runtime pipelines/s', String(runtime.pipelinesPerSecond), ''],
  ['gate p50 µs', String(gate.p50us), ''],
  ['gate p99 µs', String(gate.p99us), `target ≤ ${results.targets.gateP99us}`],
  ['gate p999 µs', String(gate.p999us), ''],
];
const width = Math.max(...rows.map((r) => r[0]!.length));
for (const [name, value, note] of rows)
  process.stdout.write(`${name!.padEnd(width)}  ${value!.padStart(10)}  ${note}\n`);
process.stdout.write('wrote bench/results/latest.json\n');
