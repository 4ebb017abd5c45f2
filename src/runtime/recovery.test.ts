import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../envelope/index.js';
import type { Verdict } from '../gate/index.js';
import { type LedgerEntry, openLedger } from '../ledger/index.js';
import type { StateDelta } from '../state/index.js';
import { createEnvelopeFactory } from './envelopes.js';
import { runtimeError } from './errors.js';
import { ledgerFile, openMesh } from './open.js';
import { decisionRecord, deliveredRecord, ENTRY, failureRecord } from './records.js';
import { RECOVERY_PROGRESS_EVERY } from './recovery.js';

const log = pino({ level: 'silent' });
const T0 = Date.parse('2026-06-01T00:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const approval: Verdict = {
  decision: 'hold',
  detail: 'big-job: n > 10 waits for a pilot.',
  reason: 'approval.required',
  rule: 'big-job',
  stage: 'approval',
};
const frozen: Verdict = {
  decision: 'hold',
  detail: 'pilot: job:4 is frozen; the message waits for a pilot.',
  reason: 'breaker.frozen',
  rule: 'pilot',
  stage: 'breaker',
};

/**
 * A mesh `t` whose agents (`./sink.mjs`, which does nothing) take jobs from ingress `api`; by default
 * `sink`, and a job with n > 10 waits an hour for a pilot, then is dropped.
 */
function writeMesh(
  lines = [
    'agents:',
    '  sink: { version: 1.0.0, module: ./sink.mjs, consumes: [job.queued.v1] }',
    'approvals:',
    "  - { id: big-job, when: 'msg.data.n > 10', timeout: 1h, onTimeout: deny }",
  ],
): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-recovery-'));
  mkdirSync(join(dir, 'contracts'));
  writeFileSync(
    join(dir, 'mesh.yaml'),
    ['mesh: t', 'ingress:', '  api: { emits: [job.queued.v1] }', ...lines].join('\n'),
  );
  const schema = { type: 'object', properties: { n: { type: 'integer' } } };
  writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), JSON.stringify(schema));
  writeFileSync(join(dir, 'sink.mjs'), 'export default { handle() {} };');
  return dir;
}

/** Bytes that differ along the factory's pool, so each id it makes is its own. */
const counting = (bytes: Uint8Array): Uint8Array => {
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
  return bytes;
};

const open = (dir: string, now: number) =>
  openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log, clock: () => now });

const deltasOf = (entry: LedgerEntry) => (entry.data as { deltas?: StateDelta[] }).deltas;

describe('recovery of holds', () => {
  it('replays holds from the deltas their decisions and releases carry', async () => {
    const dir = writeMesh();
    const first = await open(dir, T0);
    if (!first.ok) throw new Error(JSON.stringify(first));
    const mesh = first.opened.mesh;
    const kept = await mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 99 } });
    const dropped = await mesh.inject('api', { type: 'job.queued.v1', subject: 'job:2', data: { n: 99 } });
    const listed = mesh.held();
    const { predicate: _p, timeoutAt: _t, onTimeout: _o, ...hold } = listed[0]!;
    const rejected = mesh.pilot.reject(dropped.msgId ?? '', { pilot: 'ana', reason: 'no' });
    if (!(rejected instanceof Promise)) throw rejected;
    const release = await rejected;
    await first.opened.close();
    // The decision opens the hold, the release closes it: both are state deltas in the ledger.
    expect(deltasOf(kept)?.filter((d) => d.kind === 'hold-open')).toEqual([{ hold, kind: 'hold-open' }]);
    expect(deltasOf(release)).toEqual([{ kind: 'hold-release', msgId: dropped.msgId }]);

    const second = await open(dir, T0 + MIN);
    if (!second.ok) throw new Error(JSON.stringify(second));
    await using o = second.opened;
    expect(o.mesh.held()).toEqual([listed[0]]);
    expect(o.mesh.state.holds()).toEqual([hold]);
  });

  it('recovers holds from a ledger written before holds were state', async () => {
    const dir = writeMesh();
    const factory = createEnvelopeFactory({
      mesh: 't',
      maxHops: () => 8,
      clock: () => T0,
      random: counting,
    });
    const job = (n: number, subject: string): Envelope =>
      factory.root('api', { type: 'job.queued.v1', subject, data: { n } });
    const [waiting, denied, approved, freezeHeld] = [
      job(99, 'job:1'),
      job(98, 'job:2'),
      job(97, 'job:3'),
      job(1, 'job:4'),
    ];
    mkdirSync(join(dir, 'data'), { mode: 0o700 });
    const old = openLedger({ file: ledgerFile(join(dir, 'data')), origin: 't' });
    // As that runtime wrote them: held decisions without a `hold-open` delta, releases without a
    // `hold-release` delta; one approved release whose delivery never happened.
    const held = (env: Envelope, verdict: Verdict) =>
      decisionRecord(T0, env.id, { envelope: env, gated: 'message', verdict });
    const released = (env: Envelope, outcome: 'deliver' | 'deny') => ({
      kind: ENTRY.holdReleased,
      at: T0 + 1,
      msgId: env.id,
      subject: env.subject,
      agent: 'pilot:ana',
      data: {
        by: 'pilot:ana',
        ...(outcome === 'deliver' ? { consumers: ['sink'] } : {}),
        outcome,
        reason: 'checked',
        rule: 'big-job',
      },
    });
    await old.appendAll([
      held(waiting, approval),
      held(denied, approval),
      held(approved, approval),
      held(freezeHeld, frozen),
      released(denied, 'deny'),
      released(approved, 'deliver'),
    ]);
    await old.close();

    const first = await open(dir, T0 + MIN);
    if (!first.ok) throw new Error(JSON.stringify(first));
    const o = first.opened;
    await o.mesh.idle();
    expect(o.mesh.held().map((h) => [h.msgId, h.heldAt, h.timeoutAt])).toEqual([
      [waiting.id, T0, T0 + HOUR],
      [freezeHeld.id, T0, undefined],
    ]);
    // The approved one was delivered after all (it was admitted, and never delivered).
    expect((await o.ledger.byMessage(approved.id)).map((e) => e.kind)).toContain(ENTRY.delivered);
    // A pilot releases the old freeze hold: gated again, delivered, recorded the new way.
    const act = o.mesh.pilot.approve(freezeHeld.id, { pilot: 'ana', reason: 'fine' });
    if (!(act instanceof Promise)) throw act;
    const entry = await act;
    await o.mesh.idle();
    expect(entry.data).toMatchObject({ outcome: 'deliver', verdict: { decision: 'deliver' } });
    expect(deltasOf(entry)?.[0]).toEqual({ kind: 'hold-release', msgId: freezeHeld.id });
    expect((await o.ledger.byMessage(freezeHeld.id)).map((e) => e.kind)).toContain(ENTRY.delivered);
    expect(o.mesh.held().map((h) => h.msgId)).toEqual([waiting.id]);
    await o.close();

    // Past its timeout, the old approval hold is settled by the next process.
    const later = await open(dir, T0 + 2 * HOUR);
    if (!later.ok) throw new Error(JSON.stringify(later));
    await using l = later.opened;
    await l.mesh.idle();
    expect(l.mesh.held()).toEqual([]);
    const timedOut = (await l.ledger.byMessage(waiting.id)).filter((e) => e.kind === ENTRY.holdReleased);
    expect(timedOut.map((e) => e.data)).toEqual([
      {
        by: 'timeout',
        deltas: [{ kind: 'hold-release', msgId: waiting.id }],
        outcome: 'deny',
        rule: 'big-job',
      },
    ]);
    expect((await l.ledger.verify()).ok).toBe(true);
  });
});

describe('recovery progress', () => {
  it('tells openMesh’s caller how far the read of the ledger has come', async () => {
    const dir = writeMesh();
    const first = await open(dir, T0);
    if (!first.ok) throw new Error(JSON.stringify(first));
    await first.opened.close();
    // Notes past one progress step, appended to the mesh's own ledger.
    const ledger = openLedger({ file: ledgerFile(join(dir, 'data')), origin: 't', durability: 'normal' });
    const notes = RECOVERY_PROGRESS_EVERY + 5;
    for (let i = 0; i < notes; i += 5_000) {
      const n = Math.min(5_000, notes - i);
      await Promise.all(Array.from({ length: n }, () => ledger.append({ kind: 'note', at: T0, data: {} })));
    }
    await ledger.close();
    const told: { read: number; total: number }[] = [];
    const second = await openMesh({
      meshFile: join(dir, 'mesh.yaml'),
      dataDir: join(dir, 'data'),
      log,
      clock: () => T0 + MIN,
      onRecoveryProgress: (p) => told.push(p),
    });
    if (!second.ok) throw new Error(JSON.stringify(second));
    await using _o = second.opened;
    // One policy.loaded for each open: the first, and this one's (recorded before it recovers).
    const total = notes + 2;
    expect(told).toEqual([
      { read: 0, total },
      { read: RECOVERY_PROGRESS_EVERY, total },
    ]);
  }, 60_000);
});

describe('recovery of unfinished work, one partition', () => {
  it('resumes what a consumer has not handled; a delivery, a dead letter or an emission settles it; a proof of nothing is passed over', async () => {
    const dir = writeMesh([
      'agents:',
      '  one: { version: 1.0.0, module: ./sink.mjs, consumes: [job.queued.v1] }',
      '  two: { version: 1.0.0, module: ./sink.mjs, consumes: [job.queued.v1] }',
    ]);
    const factory = createEnvelopeFactory({ mesh: 't', maxHops: () => 8, clock: () => T0, random: counting });
    const [half, dead, answered, never] = ['job:1', 'job:2', 'job:3', 'job:9'].map((subject) =>
      factory.root('api', { type: 'job.queued.v1', subject, data: {} }),
    );
    const admitted: Verdict = { decision: 'deliver', reason: 'gate.admitted', stage: 'gate', detail: 'ok' };
    const admit = (e: Envelope, consumers: string[]) =>
      decisionRecord(T0, e.id, { envelope: e, gated: 'message', verdict: admitted, consumers });
    // What one@1.0.0 emitted in answer to `answered`: it proves `one` handled it.
    const answer: Envelope = {
      ...answered!,
      id: factory.id(),
      causationid: answered!.id,
      hop: 1,
      source: 'mesh://t/one@1.0.0',
    };
    mkdirSync(join(dir, 'data'));
    const ledger = openLedger({ file: ledgerFile(join(dir, 'data')), origin: 't' });
    await ledger.appendAll([
      admit(half!, ['one', 'two']),
      deliveredRecord(T0, half!, 'one@1.0.0', 1),
      admit(dead!, ['one']),
      failureRecord(
        ENTRY.deadLetter,
        T0,
        dead!,
        'one@1.0.0',
        3,
        runtimeError('MW_RUNTIME_HANDLER', {
          agent: 'one',
          cause: 'boom',
        }),
      ),
      admit(answered!, ['one']),
      admit(answer, []),
      // A delivery of a message the ledger never admitted: nothing to resume.
      deliveredRecord(T0, never!, 'one@1.0.0', 1),
    ]);
    await ledger.close();

    const opened = await open(dir, T0 + MIN);
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    expect(o.resumed).toBe(1);
    await o.mesh.idle();
    const deliveredTo = async (e: Envelope) =>
      (await o.ledger.byMessage(e.id)).filter((x) => x.kind === ENTRY.delivered).map((x) => x.agent);
    expect(await deliveredTo(half!)).toEqual(['one@1.0.0', 'two@1.0.0']);
    expect(await deliveredTo(dead!)).toEqual([]);
    expect(await deliveredTo(answered!)).toEqual([]);
    expect(await deliveredTo(never!)).toEqual(['one@1.0.0']);
  });
});
