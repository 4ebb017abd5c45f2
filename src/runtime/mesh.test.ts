import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import canonicalizePackage from 'canonicalize';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../ledger/index.js';
import { createEnvelopeFactory } from './envelopes.js';
import { openMesh } from './open.js';
import { ENTRY } from './records.js';
import { log, writeMesh } from './test-kit.js';

describe('runtime', () => {
  it.each([
    { failures: 1, delivered: 1, deadLetters: 1, failedTries: 1 }, // retried once, then fine; notify has no executor
    { failures: 5, delivered: 0, deadLetters: 1, failedTries: 2 }, // every try fails: dead letter, nothing emitted
  ])(
    'retries a throwing handler and dead-letters what cannot finish ($failures failures)',
    async ({ failures, delivered, deadLetters, failedTries }) => {
      const dir = writeMesh(failures);
      const opened = await openMesh({
        meshFile: join(dir, 'mesh.yaml'),
        dataDir: join(dir, 'data'),
        log,
        retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
      });
      if (!opened.ok) throw new Error(JSON.stringify(opened));
      await using o = opened.opened;
      const root = await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
      await o.mesh.idle();
      const entries = await Array.fromAsync(o.ledger.scan());
      const kinds = (kind: string) => entries.filter((e) => e.kind === kind);
      const done = kinds(ENTRY.decision).filter(
        (e) => (e.data as { envelope?: { type: string } }).envelope?.type === 'job.done.v1',
      );
      // Emissions of a failed try are discarded: job.done.v1 is gated once, from the successful try.
      expect(done).toHaveLength(delivered);
      expect(kinds(ENTRY.deadLetter)).toHaveLength(deadLetters);
      expect(kinds(ENTRY.deliveryFailed).filter((e) => e.msgId === root.msgId)).toHaveLength(failedTries);
      const codes = kinds(ENTRY.deadLetter).map((e) => (e.data as { error: { code: string } }).error.code);
      expect(codes).toEqual([failures > 2 ? 'MW_RUNTIME_HANDLER' : 'MW_RUNTIME_NO_EXECUTOR']);
      expect((await o.ledger.verify()).ok).toBe(true);
    },
  );

  it('refuses to start when a module is missing its default export', async () => {
    const dir = writeMesh(0);
    writeFileSync(join(dir, 'agents', 'sink.mjs'), 'export const handle = () => {};');
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    expect(opened.ok).toBe(false);
    if (!opened.ok) expect(opened.errors?.map((e) => e.code)).toEqual(['MW_RUNTIME_MODULE_SHAPE']);
  });
});

describe('recovery', () => {
  it('does not re-deliver finished work when the policy changes between runs', async () => {
    const dir = writeMesh(0);
    const open = () => openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    const first = await open();
    if (!first.ok) throw new Error(JSON.stringify(first));
    await first.opened.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    await first.opened.mesh.idle();
    await first.opened.close();
    // A new version of an agent, and a second consumer of job.done.v1.
    const yaml = readFileSync(join(dir, 'mesh.yaml'), 'utf8')
      .replace('sink: { version: 1.0.0', 'sink: { version: 1.1.0')
      .replace(
        '  sink:',
        '  audit: { version: 1.0.0, module: ./agents/sink.mjs, consumes: [job.done.v1] }\n  sink:',
      );
    writeFileSync(join(dir, 'mesh.yaml'), yaml);
    const second = await open();
    if (!second.ok) throw new Error(JSON.stringify(second));
    await using o = second.opened;
    await o.mesh.idle();
    expect(o.resumed).toBe(0);
    expect(o.mesh.counts().messages.admitted).toBe(0);
  });
});

describe('approval holds', () => {
  it.each([
    ['deliver', 1],
    ['deny', 0],
  ] as const)(
    'applies onTimeout %s when a hold expired while no process ran',
    async (onTimeout, delivered) => {
      const dir = writeMesh(0, [
        'approvals:',
        `  - { id: big-job, when: 'msg.data.n > 10', timeout: 1h, onTimeout: ${onTimeout} }`,
      ]);
      const t0 = Date.parse('2026-06-01T00:00:00Z');
      const open = (now: number) =>
        openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log, clock: () => now });
      const first = await open(t0);
      if (!first.ok) throw new Error(JSON.stringify(first));
      const held = await first.opened.mesh.inject('api', {
        type: 'job.queued.v1',
        subject: 'job:9',
        data: { n: 99 },
      });
      await first.opened.mesh.idle();
      expect(first.opened.mesh.counts().messages.held).toBe(1);
      await first.opened.close();

      const second = await open(t0 + 2 * 3_600_000);
      if (!second.ok) throw new Error(JSON.stringify(second));
      await using o = second.opened;
      await o.mesh.idle();
      const released = (await o.ledger.byMessage(held.msgId ?? '')).filter(
        (e) => e.kind === ENTRY.holdReleased,
      );
      expect(released.map((e) => e.data)).toEqual([
        {
          outcome: onTimeout,
          by: 'timeout',
          deltas: [{ kind: 'hold-release', msgId: held.msgId }],
          rule: 'big-job',
          ...(onTimeout === 'deliver' ? { consumers: ['flaky'] } : {}),
        },
      ]);
      // flaky handled it when its emissions were gated: they name the held message as their cause.
      expect((await o.ledger.byCausation(held.msgId ?? '')).length > 0).toBe(delivered === 1);
    },
  );
});

describe('misbehaving handlers', () => {
  const openWith = async (code: string, extra: readonly string[] = []) => {
    const dir = writeMesh(0, extra);
    writeFileSync(join(dir, 'agents', 'flaky.mjs'), code);
    const opened = await openMesh({
      meshFile: join(dir, 'mesh.yaml'),
      dataDir: join(dir, 'data'),
      log,
      retry: { attempts: 1, timeoutMs: 20 },
    });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    return opened.opened;
  };
  const reasons = async (o: { ledger: { scan(): AsyncIterable<LedgerEntry> } }) =>
    (await Array.fromAsync(o.ledger.scan())).flatMap((e) =>
      e.kind === ENTRY.decision ? [(e.data as { verdict: { reason: string } }).verdict.reason] : [],
    );

  it('dead-letters a handler whose promise never settles', async () => {
    await using o = await openWith('export default { handle() { return new Promise(() => {}); } };');
    const root = await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    await o.mesh.idle();
    const dead = (await o.ledger.byMessage(root.msgId ?? '')).filter((e) => e.kind === ENTRY.deadLetter);
    expect(dead.map((e) => (e.data as { error: { code: string } }).error.code)).toEqual([
      'MW_RUNTIME_TIMEOUT',
    ]);
  });

  it("aborts a timed-out try's signal, so a handler that listens stops its work", async () => {
    // The handler waits for its signal and then records why it stopped, as a late emission would show.
    await using o = await openWith(
      `export default { handle(msg, ctx) {
         return new Promise((resolve) => ctx.signal.addEventListener('abort', () => {
           globalThis.__meshwardenAbortReason = ctx.signal.reason.code;
           resolve();
         }));
       } };`,
    );
    const root = await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    await o.mesh.idle();
    const dead = (await o.ledger.byMessage(root.msgId ?? '')).filter((e) => e.kind === ENTRY.deadLetter);
    expect(dead).toHaveLength(1);
    expect((globalThis as { __meshwardenAbortReason?: string }).__meshwardenAbortReason).toBe(
      'MW_RUNTIME_TIMEOUT',
    );
  });

  it('records an emission made after the handler returned instead of gating or losing it', async () => {
    await using o = await openWith(
      "export default { handle(msg, ctx) { setTimeout(() => ctx.emit('job.done.v1', { n: 1 }), 0); } };",
    );
    await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    await o.mesh.idle();
    for (let i = 0; i < 100 && !(await reasons(o)).includes('envelope.late_emit'); i++) await setTimeout(10);
    expect(await reasons(o)).toEqual(['gate.admitted', 'envelope.late_emit']);
  });

  it('fails the try of a handler whose result has a `then` that throws, and still records what it emits late', async () => {
    await using o = await openWith(
      `export default { handle(msg, ctx) {
         setTimeout(() => ctx.emit('job.done.v1', { n: 1 }), 5);
         return { get then() { throw new Error('no then'); } };
       } };`,
    );
    const root = await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    await o.mesh.idle();
    for (let i = 0; i < 100 && !(await reasons(o)).includes('envelope.late_emit'); i++) await setTimeout(10);
    expect(await reasons(o)).toEqual(['gate.admitted', 'envelope.late_emit']);
    const dead = (await o.ledger.byMessage(root.msgId ?? '')).filter((e) => e.kind === ENTRY.deadLetter);
    expect(dead).toHaveLength(1);
  });

  it('awaits a handler that returns a thenable of a promise library, not only a native Promise', async () => {
    // Its emission comes when the thenable settles: part of the try, not a late emission.
    await using o = await openWith(
      `export default { handle(msg, ctx) {
         return { then(resolve) { setTimeout(() => { ctx.emit('job.done.v1', { n: 1 }); resolve(); }, 5); } };
       } };`,
    );
    await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    await o.mesh.idle();
    expect(await reasons(o)).toEqual(['gate.admitted', 'gate.admitted']);
  });

  it('settles an approval hold when its timeout passes while the mesh runs', async () => {
    await using o = await openWith('export default { handle() {} };', [
      'approvals:',
      "  - { id: quick, when: 'msg.data.n > 10', timeout: 30ms, onTimeout: deliver }",
    ]);
    const held = await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 99 } });
    const released = async () =>
      (await o.ledger.byMessage(held.msgId ?? '')).filter((e) => e.kind === ENTRY.holdReleased);
    for (let i = 0; i < 200 && (await released()).length === 0; i++) await setTimeout(10);
    await o.mesh.idle();
    expect((await released()).map((e) => (e.data as { outcome: string }).outcome)).toEqual(['deliver']);
    expect((await o.ledger.byMessage(held.msgId ?? '')).some((e) => e.kind === ENTRY.delivered)).toBe(true);
  });

  it('builds envelopes and decision records in canonical key order, so the ledger can use JSON.stringify', async () => {
    await using o = await openWith('export default { handle() {} };');
    const root = await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    expect(JSON.stringify(root.data)).toBe(canonicalizePackage(root.data));
    const factory = createEnvelopeFactory({ mesh: 't', maxHops: () => 8, clock: () => 1, random: (b) => b });
    const parent = factory.root('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    const agent = o.mesh.policy.agents.get('flaky')!;
    for (const opts of [{}, { target: 'sink', model: 'm-1', subject: 'job:2' }]) {
      const child = factory.child(parent, agent, 'job.done.v1', { n: 2 }, opts);
      expect(JSON.stringify(child)).toBe(canonicalizePackage(child));
    }
  });
});

describe('a predicate that cannot be evaluated', () => {
  it('holds the message, counts it by rule, and raises an alert beside the decision', async () => {
    // Passes the load-time check (target is an attribute), fails at run time: roots have no target.
    const dir = writeMesh(0, [
      'approvals:',
      `  - { id: addressed, when: 'msg.type == "job.queued.v1" && msg.target == "flaky"', timeout: 1h }`,
    ]);
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    const events: { type: string; reason?: string; rule?: string; alert?: string; msgId?: string }[] = [];
    o.mesh.onEvent((e) => {
      if (e.type === 'alert') events.push(e);
      if (e.type === 'decision') events.push({ type: e.type, reason: e.verdict.reason });
    });
    const sent = [];
    for (const n of [1, 2])
      sent.push(await o.mesh.inject('api', { type: 'job.queued.v1', subject: `job:${n}`, data: { n } }));
    await o.mesh.idle();
    expect(o.mesh.counts().messages.held).toBe(2);
    expect(o.mesh.counts().predicateErrors).toEqual({ addressed: 2 });
    expect(events.map((e) => [e.type, e.reason, e.alert ?? null, e.rule ?? null])).toEqual([
      ['decision', 'approval.predicate_error', null, null],
      ['alert', 'approval.predicate_error', 'predicate_error', 'addressed'],
      ['decision', 'approval.predicate_error', null, null],
      ['alert', 'approval.predicate_error', 'predicate_error', 'addressed'],
    ]);
    expect(events.filter((e) => e.type === 'alert').map((e) => e.msgId)).toEqual(sent.map((s) => s.msgId));
  });
});
