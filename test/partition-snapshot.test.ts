import { randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { isMeshwardenError, partitionOf } from '../src/envelope/index.js';
import { type Ledger, openLedgerAt } from '../src/ledger/index.js';
import { tempPostgresSchemas } from '../src/ledger/postgres-test-kit.js';
import { loadPolicy } from '../src/policy/index.js';
import { createEnvelopeFactory } from '../src/runtime/envelopes.js';
import { zeroCounts } from '../src/runtime/events.js';
import { loadModules } from '../src/runtime/modules.js';
import { openMesh } from '../src/runtime/open.js';
import { loadPartitionFold, snapshotPartition } from '../src/runtime/partition-snapshot.js';
import { createPartition } from '../src/runtime/partitions.js';
import { decisionRecord, deliveredRecord } from '../src/runtime/records.js';
import { recoverPartition } from '../src/runtime/recovery.js';
import { type PartitionFold, settleElsewhere } from '../src/runtime/recovery-fold.js';
import { stateWindows } from '../src/runtime/snapshot-codec.js';
import { createWorkTracker } from '../src/runtime/work.js';
import type { StateDelta } from '../src/state/index.js';

const T0 = Date.parse('2026-06-01T00:00:00Z');
const MIN = 60_000;
const P = 2;
const freshSchema = tempPostgresSchemas();

/** Jobs rate-limited per subject, a count breaker that freezes, a failure breaker, an approval. */
function writeMesh(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-snapshot-'));
  mkdirSync(join(dir, 'contracts'));
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: snap',
      `partitions: ${P}`,
      'agents:',
      '  sink: { version: 1.0.0, module: ./sink.mjs, consumes: [job.queued.v1], emits: [job.done.v1] }',
      '  flaky: { version: 1.0.0, module: ./flaky.mjs, consumes: [job.done.v1] }',
      'ingress:',
      '  api: { emits: [job.queued.v1] }',
      'limits:',
      '  - { id: per-job, scope: entity, rate: 3/min }',
      'breakers:',
      '  - { id: burst, scope: entity, when: { count: job.queued.v1, over: 2, window: 1h }, action: freeze }',
      '  - { id: flaky-fails, scope: entity, when: { failures: flaky, over: 1, window: 1h }, action: deny }',
      'approvals:',
      '  - { id: big-job, when: \'msg.type == "job.queued.v1" && msg.data.n > 10\', timeout: 1h, onTimeout: deny }',
    ].join('\n'),
  );
  const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
  writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), JSON.stringify(schema));
  writeFileSync(join(dir, 'contracts', 'job.done.v1.json'), JSON.stringify(schema));
  writeFileSync(
    join(dir, 'sink.mjs'),
    "export default { handle(msg, ctx) { ctx.emit('job.done.v1', msg.data); } };",
  );
  writeFileSync(
    join(dir, 'flaky.mjs'),
    "export default { handle(msg) { if (msg.data.n % 2 === 0) throw new Error('even'); } };",
  );
  return dir;
}

/** A logger whose warnings the test reads. */
function capturedLog() {
  const lines: { msg: string; err?: { code?: string } }[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, warnings: () => lines.filter((l) => l.msg === 'partition snapshot ignored') };
}

/**
 * Runs the scenario: traffic, a snapshot of each partition, more traffic, then work admitted and
 * never handled (as a process killed after its admission leaves it). Returns the ledger, reopened.
 */
async function scenario(location: (dir: string) => string): Promise<{ ledger: Ledger; meshFile: string }> {
  const dir = writeMesh();
  const ledgerAt = location(dir);
  let now = T0;
  const opened = await openMesh({
    meshFile: join(dir, 'mesh.yaml'),
    dataDir: join(dir, 'data'),
    ledgerAt,
    log: pino({ level: 'silent' }),
    clock: () => now,
    retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  const { mesh, ledger } = opened.opened;
  const send = async (subject: string, n: number) => {
    await mesh.inject('api', { type: 'job.queued.v1', subject, data: { n } });
    now += 1_000;
  };
  for (const [subject, n] of [
    ['job:1', 1],
    ['job:2', 2],
    ['job:1', 3],
    ['job:3', 20],
    ['job:1', 5],
  ] as const)
    await send(subject, n);
  await mesh.idle();
  for (let p = 0; p < P; p++) expect(await snapshotPartition(ledger, p)).toBeDefined();
  now += MIN;
  for (const [subject, n] of [
    ['job:2', 4],
    ['job:4', 30],
    ['job:2', 6],
    ['job:5', 7],
    ['job:2', 9],
  ] as const)
    await send(subject, n);
  // A hold opened before the snapshot is settled after it.
  const settled = mesh.pilot.reject(mesh.held()[0]!.msgId, { pilot: 'ana', reason: 'no' });
  if (!(settled instanceof Promise)) throw settled;
  await settled;
  await mesh.idle();
  await opened.opened.close();

  const reopened = await openLedgerAt(ledgerAt, { origin: 'snap' });
  if (isMeshwardenError(reopened)) throw reopened;
  const factory = createEnvelopeFactory({
    mesh: 'snap',
    maxHops: () => 8,
    clock: () => now,
    random: (b) => randomFillSync(b),
  });
  const verdict = {
    decision: 'deliver',
    reason: 'gate.admitted',
    stage: 'gate',
    detail: 'admitted',
  } as const;
  const admit = async (subject: string) => {
    const envelope = factory.root('api', { type: 'job.queued.v1', subject, data: { n: 1 } });
    const admitted = decisionRecord(now, envelope.id, {
      envelope,
      gated: 'message',
      verdict,
      consumers: ['sink'],
    });
    await reopened.append(admitted, partitionOf(subject, P));
    return envelope;
  };
  const unfinished = [await admit('job:6'), await admit('job:7'), await admit('job:8')];
  // Snapshots that carry unfinished work; then one of it finishes, and more is admitted, after them.
  for (let p = 0; p < P; p++) await snapshotPartition(reopened, p);
  const first = unfinished[0]!;
  await reopened.append(deliveredRecord(now, first, 'sink@1.0.0', 1), partitionOf(first.subject, P));
  await admit('job:9');
  return { ledger: reopened, meshFile: join(dir, 'mesh.yaml') };
}

/** A fold as comparable data: state at `now` (evicted, order-free), holds in order, work, failures. */
function view(fold: PartitionFold, now: number) {
  fold.state.evict(now);
  const sorted = (ds: StateDelta[]) => ds.map((d) => JSON.stringify(d)).sort();
  return {
    state: sorted(fold.state.contents()),
    holds: fold.state.holds().map((h) => h.msgId),
    breakers: fold.state.openBreakers().map((b) => b.key),
    pending: [...fold.pending].map(([id, p]) => [id, [...p.waiting].sort()]),
    failures: [...fold.failures].sort(([a], [b]) => a.localeCompare(b)),
    last: { ...fold.last },
  };
}

async function folded(ledger: Ledger, partition: number, opts: Parameters<typeof loadPartitionFold>[2]) {
  const loaded = await loadPartitionFold(ledger, partition, opts);
  await settleElsewhere(loaded.fold, ledger);
  return loaded;
}

/** Just after the last entry: the rate limits' buckets are still live. */
const LATER = T0 + MIN + 12_000;

/** Tampers with a stored snapshot behind the ledger's back: its body, or its hash. */
type Tamper = (partition: number, column: 'body' | 'hash', value: string) => Promise<void>;

function describeSnapshots(name: string, setup: () => { location: (dir: string) => string; tamper: Tamper }) {
  describe(`partition snapshots (${name})`, () => {
    it('rebuilds from a snapshot and its tail exactly what the whole chain rebuilds', async () => {
      const { location } = setup();
      const { ledger: opened, meshFile } = await scenario(location);
      await using ledger = opened;
      const seen = { holds: 0, breakers: 0, pending: 0, failures: 0, buckets: 0 };
      for (let p = 0; p < P; p++) {
        const full = await folded(ledger, p, { snapshots: false });
        const snap = await folded(ledger, p, {});
        expect(full.from).toBe(0);
        expect(snap.from).toBeGreaterThan(0);
        expect(snap.folded).toBeLessThan(full.folded);
        const expected = view(full.fold, LATER);
        expect(view(snap.fold, LATER)).toEqual(expected);
        seen.holds += expected.holds.length;
        seen.breakers += expected.breakers.length;
        seen.pending += expected.pending.length;
        seen.failures += expected.failures.length;
        seen.buckets += expected.state.filter((d) => d.includes('"rl|')).length;
      }
      // The scenario has every kind of thing a rebuild restores.
      expect(seen.holds).toBeGreaterThan(0);
      expect(seen.breakers).toBeGreaterThan(0);
      expect(seen.pending).toBe(3);
      expect(seen.failures).toBeGreaterThan(0);
      expect(seen.buckets).toBeGreaterThan(0);

      // recoverPartition, the wiring's call, into a partition as the mesh builds it: the same state,
      // holds (with their timeouts) and resumed work with or without snapshots.
      const loaded = await loadPolicy(meshFile);
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
      const modules = await loadModules(loaded.policy);
      if (!modules.ok) throw modules.errors[0];
      const active = { policy: loaded.policy, modules: modules.modules };
      const restored = { holds: 0, timed: 0, resumed: 0 };
      for (let p = 0; p < P; p++) {
        const rebuilt = async (snapshots: boolean) => {
          const dispatched: string[] = [];
          const partition = createPartition(p, {
            active,
            ledger,
            clock: () => LATER,
            factory: createEnvelopeFactory({
              mesh: 'snap',
              maxHops: () => 8,
              clock: () => LATER,
              random: (b) => randomFillSync(b),
            }),
            counts: zeroCounts(),
            work: createWorkTracker(8, () => {}),
            log: pino({ level: 'silent' }),
            publish: () => {},
            listening: () => false,
            dispatch: () => {},
          });
          const { resumed } = await recoverPartition(
            ledger,
            partition,
            (e, _g, c) => dispatched.push(`${e.id} ${c}`),
            { snapshots, windows: stateWindows(loaded.policy) },
          );
          const holds = partition.holds.list();
          partition.holds.close();
          partition.state.evict(LATER);
          const state = partition.state.contents().map((d) => JSON.stringify(d));
          return { resumed, dispatched, holds, state: state.sort() };
        };
        const whole = await rebuilt(false);
        expect(await rebuilt(true)).toEqual(whole);
        restored.holds += whole.holds.length;
        restored.timed += whole.holds.filter((h) => h.timeoutAt !== undefined).length;
        restored.resumed += whole.resumed;
      }
      expect(restored).toEqual({ holds: 1, timed: 1, resumed: 3 });
    });

    it('ignores a snapshot the chain does not hold, one beyond its head and one of another format, each with a warning', async () => {
      const { location, tamper } = setup();
      await using ledger = (await scenario(location)).ledger;
      const [head] = await ledger.snapshots(0);
      if (head === undefined) throw new Error('no snapshot');
      const body = (await ledger.snapshotBody(0, head.seq))!;
      await tamper(0, 'hash', 'sha256:0000');
      // One beyond the chain's head (a chain restored from an older backup), newest of all.
      await ledger.putSnapshot({
        ...head,
        seq: 10_000,
        body: body.replace(`"seq":${head.seq}`, '"seq":10000'),
      });
      // And one of a format this code does not know, an entry earlier (a newer node wrote it).
      const v9 = { ...head, seq: head.seq - 1, format: 'meshwarden.partition-fold.v9', body };
      await ledger.putSnapshot(v9, { keep: 3 });
      const { log, warnings } = capturedLog();
      const snap = await folded(ledger, 0, { log });
      const full = await folded(ledger, 0, { snapshots: false });
      expect(snap.from).toBe(0);
      expect(view(snap.fold, LATER)).toEqual(view(full.fold, LATER));
      expect(warnings().map((w) => w.err?.code)).toEqual([
        'MW_RUNTIME_SNAPSHOT',
        'MW_RUNTIME_SNAPSHOT',
        'MW_RUNTIME_SNAPSHOT',
      ]);
    });

    it('ignores a corrupt snapshot body with a warning, never a crash', async () => {
      const { location, tamper } = setup();
      await using ledger = (await scenario(location)).ledger;
      const full = await folded(ledger, 1, { snapshots: false });
      const [head, older] = await ledger.snapshots(1);
      if (head === undefined || older === undefined) throw new Error('no snapshots');
      const body = (await ledger.snapshotBody(1, head.seq))!;
      const bodies = [
        // Bytes changed behind the ledger's back: the digest no longer matches.
        async () => tamper(1, 'body', body.replace('"state":[', '"state":[{"kind":"bucket"},')),
        // Stored through the port (so the digest matches), yet not a fold: cut, mistyped, other windows.
        async () => void (await ledger.putSnapshot({ ...head, body: body.slice(0, body.length / 2) })),
        async () =>
          void (await ledger.putSnapshot({
            ...head,
            body: body.replace(
              '"state":[',
              '"state":[{"kind":"window","key":"k","state":{"slotMs":1,"start":0,"slots":"x"}},',
            ),
          })),
        async () =>
          void (await ledger.putSnapshot({ ...head, body: body.replace('"pending":[', '"pending":[7,') })),
        async () =>
          void (await ledger.putSnapshot({
            ...head,
            body: body.replace('"echoWindowMs":86400000', '"echoWindowMs":1'),
          })),
        async () => void (await ledger.putSnapshot({ ...head, body: 'null' })),
      ];
      for (const corrupt of bodies) {
        await corrupt();
        const { log, warnings } = capturedLog();
        const snap = await folded(ledger, 1, { log });
        // The newest is passed over for the one before it, which still holds.
        expect(snap.from).toBe(older.seq);
        expect(view(snap.fold, LATER)).toEqual(view(full.fold, LATER));
        expect(warnings().map((w) => w.err?.code)).toEqual(['MW_RUNTIME_SNAPSHOT']);
      }
      // A new snapshot replaces the corrupt one.
      const quiet = capturedLog();
      expect(await snapshotPartition(ledger, 1, { log: quiet.log })).toMatchObject({
        from: older.seq,
        folded: full.folded - older.seq,
      });
      expect((await folded(ledger, 1, {})).folded).toBe(0);
    });
  });
}

describeSnapshots('sqlite', () => {
  let file = '';
  return {
    location: (dir) => {
      file = join(dir, 'ledger.db');
      return file;
    },
    tamper: async (partition, column, value) => {
      const db = new DatabaseSync(file);
      try {
        db.prepare(
          `UPDATE snapshots SET ${column} = ? WHERE partition = ? AND seq = (SELECT max(seq) FROM snapshots WHERE partition = ?)`,
        ).run(value, partition, partition);
      } finally {
        db.close();
      }
    },
  };
});

describeSnapshots('postgres', () => {
  const at = freshSchema();
  return {
    location: () => at.location,
    tamper: async (partition, column, value) => {
      const t = `"${at.schema}".snapshots`;
      await at.query(
        `UPDATE ${t} SET ${column} = $1 WHERE partition = $2 AND seq = (SELECT max(seq) FROM ${t} WHERE partition = $2)`,
        [value, partition],
      );
    },
  };
});
