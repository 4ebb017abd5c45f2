import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { isMeshwardenError, partitionOf } from '../envelope/index.js';
import { type LedgerEntry, openLedger, verifyCheckpointSignature } from '../ledger/index.js';
import { breakerKey } from '../state/index.js';
import { createEnvelopeFactory, systemRandom } from './envelopes.js';
import { feedFile } from './feed.js';
import { ledgerFile, openMesh } from './open.js';
import { decisionRecord, ENTRY, policyLoadedRecord } from './records.js';
import { reloadPolicy } from './reload-policy.js';
import { summarize } from './summary.js';

const log = pino({ level: 'silent' });
const T0 = Date.parse('2026-06-01T00:00:00Z');
const verdictOf = (e: LedgerEntry) => (e.data as { verdict?: { decision: string; reason: string } }).verdict;

/** A mesh whose `sink` takes jobs; a job with n > 10 waits an hour for a pilot. */
function writeMesh(partitions: number, extra: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-partitions-'));
  mkdirSync(join(dir, 'contracts'));
  writeFileSync(join(dir, 'mesh.yaml'), meshYaml(partitions, extra));
  const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
  writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), JSON.stringify(schema));
  writeFileSync(join(dir, 'sink.mjs'), 'export default { handle() {} };');
  return dir;
}

function meshYaml(partitions: number, extra: readonly string[] = []): string {
  return [
    'mesh: t',
    `partitions: ${partitions}`,
    'agents:',
    '  sink: { version: 1.0.0, module: ./sink.mjs, consumes: [job.queued.v1] }',
    'ingress:',
    '  api: { emits: [job.queued.v1] }',
    'approvals:',
    "  - { id: big-job, when: 'msg.data.n > 10', timeout: 1h, onTimeout: deny }",
    ...extra,
  ].join('\n');
}

const open = (dir: string, now = T0) =>
  openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log, clock: () => now });

const job = (subject: string, n = 1) => ({ type: 'job.queued.v1', subject, data: { n } });

describe('partitions in one process', () => {
  it('admits one of two messages sent together with one id, on subjects of different partitions', async () => {
    const dir = writeMesh(2);
    const opened = await open(dir);
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    expect(partitionOf('job:1', 2)).not.toBe(partitionOf('job:2', 2));
    const id = createEnvelopeFactory({
      mesh: 't',
      maxHops: () => 8,
      clock: () => T0,
      random: systemRandom,
    }).id();
    // Sent in one tick: both partitions read the ledger before either appended.
    const both = await Promise.all([
      o.mesh.inject('api', { ...job('job:1'), id }),
      o.mesh.inject('api', { ...job('job:2'), id }),
    ]);
    await o.mesh.idle();
    expect(both.map((e) => verdictOf(e)?.reason).sort()).toEqual(['envelope.duplicate_id', 'gate.admitted']);
    expect((await o.ledger.byMessage(id)).filter((e) => e.kind === ENTRY.decision)).toHaveLength(1);
  });

  it.each([2, 4])(
    'gives each of %i partitions its own chain and its own state, and a checkpoint signs every head',
    async (count) => {
      // An entity-scoped rate limit of one message per subject: exact, whatever the partition.
      const dir = writeMesh(count, ['limits:', '  - { id: one-each, scope: entity, rate: 1/h }']);
      const opened = await open(dir);
      if (!opened.ok) throw new Error(JSON.stringify(opened));
      await using o = opened.opened;
      const subjects = ['job:1', 'job:2', 'job:3', 'job:4', 'job:5', 'job:6'];
      const owners = new Set(subjects.map((s) => partitionOf(s, count)));
      expect(owners.size).toBe(count); // these subjects reach every partition
      for (const subject of subjects) await o.mesh.inject('api', job(subject));
      const again = await Promise.all(subjects.map((s) => o.mesh.inject('api', job(s))));
      await o.mesh.idle();
      expect(again.map((e) => verdictOf(e)?.reason)).toEqual(subjects.map(() => 'rate-limit.exceeded'));

      const entries = await Array.fromAsync(o.ledger.scan());
      // Everything about a subject is in its partition's chain: decisions and deliveries alike.
      for (const e of entries.filter((x) => x.subject !== undefined)) {
        expect(e.partition, `${e.kind} ${e.subject}`).toBe(partitionOf(e.subject!, count));
      }
      expect(entries.filter((e) => e.kind === ENTRY.delivered)).toHaveLength(subjects.length);
      // Each chain is gap-free from 1 and links to its own previous entry.
      const heads = o.ledger.heads();
      expect(heads.map((h) => h.partition)).toEqual([...Array(count).keys()]);
      for (const head of heads) {
        const chain = entries.filter((e) => e.partition === head.partition);
        expect(chain.map((e) => e.seq)).toEqual(chain.map((_, i) => i + 1));
        for (let i = 1; i < chain.length; i++) expect(chain[i]!.prev).toBe(chain[i - 1]!.hash);
        expect(chain.at(-1)!.hash).toBe(head.head);
      }
      const checkpoint = await o.ledger.checkpoint();
      expect(checkpoint.partitions).toEqual(heads);
      expect(verifyCheckpointSignature(checkpoint)).toBe(true);
      expect(await o.ledger.verify({ checkpoints: [checkpoint] })).toMatchObject({ ok: true });

      // A hold lives in its subject's partition; a pilot finds it there by its id alone.
      const held = await o.mesh.inject('api', job('job:7', 99));
      expect(held.partition).toBe(partitionOf('job:7', count));
      expect(o.mesh.held().map((h) => h.msgId)).toEqual([held.msgId]);
      const approved = o.mesh.pilot.approve(held.msgId!, { pilot: 'ana', reason: 'fine' });
      if (isMeshwardenError(approved)) throw approved;
      expect((await approved).partition).toBe(held.partition);
      await o.mesh.idle();
      expect((await o.ledger.byMessage(held.msgId!)).map((e) => [e.kind, e.partition])).toEqual([
        [ENTRY.decision, held.partition],
        [ENTRY.holdReleased, held.partition],
        [ENTRY.delivered, held.partition],
      ]);
    },
  );

  it('splits an agent-scoped budget and count breaker across partitions; a reset reaches every partition', async () => {
    // job:1 and job:3 are owned by partition 1, job:2 and job:4 by partition 0 (of 2).
    expect(['job:1', 'job:3', 'job:2', 'job:4'].map((s) => partitionOf(s, 2))).toEqual([1, 1, 0, 0]);
    const dir = writeMesh(2, [
      'budgets:',
      '  - { id: jobs, scope: agent, type: job.queued.v1, field: /n, max: 10, window: 1h }',
      'breakers:',
      '  - { id: burst, scope: agent, when: { count: job.queued.v1, over: 5, window: 1h }, action: deny }',
    ]);
    const opened = await open(dir);
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    const reasons = async (subjects: readonly [string, number][]) => {
      const out: (string | undefined)[] = [];
      for (const [s, n] of subjects) out.push(verdictOf(await o.mesh.inject('api', job(s, n)))?.reason);
      return out;
    };
    // The budget: each partition may admit 5 of the 10.
    expect(
      await reasons([
        ['job:1', 5],
        ['job:3', 1],
        ['job:2', 4],
        ['job:4', 1],
        ['job:4', 1],
      ]),
    ).toEqual(['gate.admitted', 'budget.exceeded', 'gate.admitted', 'gate.admitted', 'budget.exceeded']);
    // The breaker (over 5): each partition trips past 2, its share. Partition 1 counted 1 so far
    // (a denied message is not counted), partition 0 counted 2.
    expect(
      await reasons([
        ['job:1', 0],
        ['job:1', 0],
        ['job:2', 0],
      ]),
    ).toEqual(['gate.admitted', 'breaker.tripped', 'breaker.tripped']);
    const key = breakerKey('burst', 'api');
    expect(summarize(o.mesh.counts(), o.mesh.state, o.ledger, o.mesh.policy).breakers).toEqual([
      expect.objectContaining({ id: 'burst', key: 'api', state: 'open' }),
    ]);
    expect(o.mesh.state.breaker(key)).toBeDefined();
    const reset = o.mesh.pilot.resetBreaker('burst', 'api', { pilot: 'ana', reason: 'ok' });
    if (isMeshwardenError(reset)) throw reset;
    await reset;
    await o.mesh.idle();
    const actions = await Array.fromAsync(o.ledger.scan({ kinds: [ENTRY.pilotAction] }));
    expect(actions.map((e) => e.partition).sort()).toEqual([0, 1]);
    expect(o.mesh.state.breaker(key)).toBeUndefined();
    const again = o.mesh.pilot.resetBreaker('burst', 'api', { pilot: 'ana', reason: 'twice' });
    expect(isMeshwardenError(again) && again.code).toBe('MW_PILOT_NO_BREAKER');
  });
});

describe('recovery with partitions: 2', () => {
  it('brings back every partition’s holds, and delivers what each partition admitted and did not deliver', async () => {
    const dir = writeMesh(2);
    const first = await open(dir);
    if (!first.ok) throw new Error(JSON.stringify(first));
    const kept = await first.opened.mesh.inject('api', job('job:1', 99));
    const other = await first.opened.mesh.inject('api', job('job:2', 99));
    expect([kept.partition, other.partition]).toEqual([1, 0]);
    const listed = first.opened.mesh.held();
    await first.opened.close();

    // Admitted and never delivered, one in each partition: as a crash between the two leaves it.
    const factory = createEnvelopeFactory({
      mesh: 't',
      maxHops: () => 8,
      clock: () => T0,
      random: systemRandom,
    });
    const pending = ['job:3', 'job:4'].map((s) => factory.root('api', job(s)));
    const ledger = openLedger({ file: ledgerFile(join(dir, 'data')), origin: 't' });
    for (const env of pending) {
      const verdict = {
        decision: 'deliver',
        reason: 'gate.admitted',
        stage: 'approval',
        detail: 'admitted',
      } as const;
      const record = decisionRecord(T0, env.id, {
        envelope: env,
        gated: 'message',
        verdict,
        consumers: ['sink'],
      });
      await ledger.append(record, partitionOf(env.subject, 2));
    }
    await ledger.close();

    const second = await open(dir, T0 + 60_000);
    if (!second.ok) throw new Error(JSON.stringify(second));
    await using o = second.opened;
    expect(o.resumed).toBe(2);
    expect(o.mesh.held()).toEqual(listed);
    const rejected = o.mesh.pilot.reject(other.msgId!, { pilot: 'ana', reason: 'no' });
    if (isMeshwardenError(rejected)) throw rejected;
    expect((await rejected).partition).toBe(0);
    await o.mesh.idle();
    for (const env of pending) {
      const delivered = (await o.ledger.byMessage(env.id)).filter((e) => e.kind === ENTRY.delivered);
      expect(delivered.map((e) => e.partition)).toEqual([partitionOf(env.subject, 2)]);
    }
    expect(o.mesh.held().map((h) => h.msgId)).toEqual([kept.msgId]);
    expect((await o.ledger.verify()).ok).toBe(true);
  });
});

describe('recovery of a handler whose emissions sit in another partition', () => {
  it('counts the handler done, though the scan reads its emissions before its message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshwarden-partitions-'));
    mkdirSync(join(dir, 'contracts'));
    const open = { type: 'object' };
    writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), JSON.stringify(open));
    writeFileSync(join(dir, 'contracts', 'job.done.v1.json'), JSON.stringify(open));
    // `fan` answers a job on job:1 (partition 1) with one on job:2 (partition 0).
    writeFileSync(
      join(dir, 'fan.mjs'),
      "export default { handle(msg, ctx) { ctx.emit('job.done.v1', {}, { subject: 'job:2' }); } };",
    );
    writeFileSync(join(dir, 'sink.mjs'), 'export default { handle() {} };');
    writeFileSync(
      join(dir, 'mesh.yaml'),
      [
        'mesh: t',
        'partitions: 2',
        'agents:',
        '  fan: { version: 1.0.0, module: ./fan.mjs, consumes: [job.queued.v1], emits: [job.done.v1] }',
        '  sink: { version: 1.0.0, module: ./sink.mjs, consumes: [job.done.v1] }',
        'ingress:',
        '  api: { emits: [job.queued.v1] }',
      ].join('\n'),
    );
    const first = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!first.ok) throw new Error(JSON.stringify(first));
    const root = await first.opened.mesh.inject('api', job('job:1'));
    await first.opened.mesh.idle();
    await first.opened.close();
    expect([root.partition, partitionOf('job:2', 2)]).toEqual([1, 0]);

    const second = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!second.ok) throw new Error(JSON.stringify(second));
    await using o = second.opened;
    await o.mesh.idle();
    expect(o.resumed).toBe(0);
    const answers = (await o.ledger.byCausation(root.msgId!)).filter((e) => e.kind === ENTRY.decision);
    expect(answers).toHaveLength(1); // fan ran once, not again on restart
  });
});

describe('the partition count is fixed for a ledger', () => {
  it('refuses to open a ledger written with another partition count', async () => {
    const dir = writeMesh(1);
    const first = await open(dir);
    if (!first.ok) throw new Error(JSON.stringify(first));
    await first.opened.mesh.inject('api', job('job:1'));
    await first.opened.close();
    writeFileSync(join(dir, 'mesh.yaml'), meshYaml(2));
    const second = await open(dir);
    expect(second.ok).toBe(false);
    expect(!second.ok && second.errors?.map((e) => [e.code, e.message])).toEqual([
      [
        'MW_RUNTIME_PARTITIONS_CHANGED',
        expect.stringContaining(
          'the ledger was written with partitions: 1, and the policy asks for partitions: 2',
        ),
      ],
    ]);
    // The same count opens it again.
    writeFileSync(join(dir, 'mesh.yaml'), meshYaml(1));
    const third = await open(dir);
    if (!third.ok) throw new Error(JSON.stringify(third));
    await third.opened.close();
  });

  it('counts a ledger whose policy.loaded entries do not say as written with one partition', async () => {
    const dir = writeMesh(2);
    mkdirSync(join(dir, 'data'), { mode: 0o700 });
    const old = openLedger({ file: ledgerFile(join(dir, 'data')), origin: 't' });
    const record = policyLoadedRecord(T0, 't', 'sha256:old', join(dir, 'mesh.yaml'), 'full', 1);
    const { partitions: _, ...data } = record.data;
    await old.append({ ...record, data });
    await old.close();
    const opened = await open(dir);
    expect(!opened.ok && opened.errors?.map((e) => e.code)).toEqual(['MW_RUNTIME_PARTITIONS_CHANGED']);
  });

  it('refuses a reload that changes the partition count, and records the count it loads', async () => {
    const dir = writeMesh(2);
    const opened = await open(dir);
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    const loaded = await Array.fromAsync(o.ledger.scan({ kinds: [ENTRY.policyLoaded] }));
    expect(loaded.map((e) => e.data.partitions)).toEqual([2]);
    writeFileSync(join(dir, 'mesh.yaml'), meshYaml(3));
    const reloaded = await reloadPolicy(o.mesh);
    expect(!reloaded.ok && reloaded.errors?.map((e) => e.code)).toEqual(['MW_RUNTIME_PARTITIONS_CHANGED']);
    expect(o.mesh.policy.partitions).toBe(2);
    writeFileSync(
      join(dir, 'mesh.yaml'),
      `${meshYaml(2)}\n# an empty list of limits: another digest, the same count\nlimits: []`,
    );
    const same = await reloadPolicy(o.mesh);
    expect(same.ok).toBe(true);
    const loadedNow = await Array.fromAsync(o.ledger.scan({ kinds: [ENTRY.policyLoaded] }));
    expect(loadedNow.map((e) => e.data.partitions)).toEqual([2, 2]);
  });
});

describe('examples/retention with partitions: 2', () => {
  it('still stops the loop: account 8841 gets two credits and is frozen, the others earn theirs', async () => {
    const example = new URL('../../examples/retention/', import.meta.url).pathname;
    const dir = mkdtempSync(join(tmpdir(), 'meshwarden-retention-p2-'));
    // The example's modules, linked: they import `meshwarden` from where they really are.
    for (const part of ['agents', 'effects', 'contracts', 'crm.ts'])
      symlinkSync(join(example, part), join(dir, part));
    const yaml = readFileSync(join(example, 'mesh.yaml'), 'utf8');
    writeFileSync(join(dir, 'mesh.yaml'), `${yaml}\npartitions: 2\n`);
    // The looping account and the others are owned by different partitions.
    expect(['account:8841', 'account:1203', 'account:7702'].map((s) => partitionOf(s, 2))).toEqual([1, 0, 0]);
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    await feedFile(o.mesh, join(example, 'tickets.jsonl'), () => {}, new AbortController().signal);
    await o.mesh.idle();

    const entries = await Array.fromAsync(o.ledger.scan());
    const credits = (subject: string) =>
      entries.filter(
        (e) => e.kind === ENTRY.effectExecuted && e.agent === 'effect:credit.issue' && e.subject === subject,
      ).length;
    expect(credits('account:8841')).toBe(2);
    expect([
      credits('account:1203'),
      credits('account:5570'),
      credits('account:3316'),
      credits('account:7702'),
    ]).toEqual([1, 0, 0, 2]);
    expect(summarize(o.mesh.counts(), o.mesh.state, o.ledger, o.mesh.policy).frozen).toEqual([
      'account:8841',
    ]);
    expect(o.ledger.heads().map((h) => h.partition)).toEqual([0, 1]);
    expect((await o.ledger.verify()).ok).toBe(true);
  });
});
