import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import canonicalizePackage from 'canonicalize';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../ledger/index.js';
import { createEnvelopeFactory } from './envelopes.js';
import { openMesh } from './open.js';
import { ENTRY } from './records.js';

const log = pino({ level: 'silent' });
const schema = (props: Record<string, unknown>) =>
  JSON.stringify({
    type: 'object',
    properties: props,
    required: Object.keys(props),
    additionalProperties: false,
  });

/** A two-agent mesh in a temp folder; `flaky` throws on its first `failures` tries of every message. */
function writeMesh(failures: number, extra: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-runtime-'));
  mkdirSync(join(dir, 'contracts'));
  mkdirSync(join(dir, 'agents'));
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: t',
      'agents:',
      '  flaky: { version: 1.0.0, module: ./agents/flaky.mjs, consumes: [job.queued.v1], emits: [job.done.v1], effects: [notify.send] }',
      '  sink: { version: 1.0.0, module: ./agents/sink.mjs, consumes: [job.done.v1] }',
      'effects:',
      '  notify.send: {}',
      'ingress:',
      '  api: { emits: [job.queued.v1] }',
      ...extra,
    ].join('\n'),
  );
  writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), schema({ n: { type: 'integer' } }));
  writeFileSync(join(dir, 'contracts', 'job.done.v1.json'), schema({ n: { type: 'integer' } }));
  writeFileSync(join(dir, 'contracts', 'notify.send.json'), schema({ n: { type: 'integer' } }));
  writeFileSync(
    join(dir, 'agents', 'flaky.mjs'),
    `export default { handle(msg, ctx) {
       ctx.emit('job.done.v1', { n: msg.data.n });
       if (ctx.attempt <= ${failures}) throw new Error('flaky failure ' + ctx.attempt);
       ctx.effect('notify.send', { n: msg.data.n });
     } };`,
  );
  writeFileSync(join(dir, 'agents', 'sink.mjs'), 'export default { handle() {} };');
  return dir;
}

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

describe('input without a canonical JSON form', () => {
  it.each([
    ['a lone surrogate', { subject: 'job:\ud800', data: { n: 1 } }],
    ['a BigInt', { subject: 'job:1', data: { n: 1n } as unknown as { n: number } }],
  ])('quarantines %s and records it', async (_what, input) => {
    const dir = writeMesh(0);
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    const entry = await o.mesh.inject('api', { type: 'job.queued.v1', ...input });
    await o.mesh.idle();
    expect((entry.data as { verdict: { reason: string } }).verdict.reason).toBe('envelope.not_json');
    expect(typeof entry.data.raw).toBe('string');
    expect(o.mesh.counts().messages.quarantined).toBe(1);
    expect((await o.ledger.verify()).ok).toBe(true);
  });
});

describe('input nested too deep', () => {
  const nested = (levels: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < levels; i++) v = [v];
    return v;
  };

  it.each([
    ['50,000 levels from an ingress', 50_000],
    ['one level past the limit', 64],
  ])('quarantines %s without walking it, and records it', async (_what, levels) => {
    const dir = writeMesh(0);
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    const data = { n: nested(levels) } as unknown as { n: number };
    const sent = { type: 'job.queued.v1', subject: 'job:1', data, sentBy: 'partner:acme', partner: true };
    const entry = await o.mesh.inject('api', sent);
    await o.mesh.idle();
    const verdict = (entry.data as { verdict: { reason: string; issues: { pointer: string }[] } }).verdict;
    expect(verdict.reason).toBe('envelope.too_deep');
    // Recorded like a gate refusal: who sent it and what it is about, so why and search find it.
    expect(entry.data).toMatchObject({ sentBy: 'partner:acme', partner: true });
    expect(entry.subject).toBe('job:1');
    expect(entry.agent).toBe('ingress:api');
    // Evidence of what arrived: its text where JSON has one (64 levels), a rendering where not.
    if (levels === 64) expect(entry.data.rawDigest).toMatch(/^sha256:/);
    // The envelope is level 1, data 2, n 3: the 65th level is the first too deep.
    expect(verdict.issues[0]!.pointer).toBe(`/data/n${'/0'.repeat(62)}`);
    expect(typeof entry.data.raw).toBe('string');
    expect((await o.ledger.verify()).ok).toBe(true);
  });

  it("quarantines an agent's emission nested too deep, and the mesh goes on", async () => {
    const dir = writeMesh(0);
    writeFileSync(
      join(dir, 'agents', 'flaky.mjs'),
      `export default { handle(msg, ctx) {
         let v = 1; for (let i = 0; i < 50000; i++) v = [v];
         ctx.emit('job.done.v1', { n: v });
       } };`,
    );
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    await o.mesh.idle();
    const reasons = (await Array.fromAsync(o.ledger.scan())).flatMap((e) =>
      e.kind === ENTRY.decision ? [(e.data as { verdict: { reason: string } }).verdict.reason] : [],
    );
    expect(reasons).toEqual(['gate.admitted', 'envelope.too_deep']);
    expect((await o.ledger.verify()).ok).toBe(true);
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

describe('ids from outside', () => {
  it("refuses an injected id the ledger already holds, under an id of the warden's own", async () => {
    const dir = writeMesh(0);
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    await o.mesh.idle();
    // An id the warden made itself (the agent's answer): the gate's dedupe never saw it from outside.
    const done = (await Array.fromAsync(o.ledger.scan())).find(
      (e) => (e.data as { envelope?: { type: string } }).envelope?.type === 'job.done.v1',
    )!;
    const taken = done.msgId!;
    const refused = await o.mesh.inject('api', {
      type: 'job.queued.v1',
      subject: 'job:2',
      data: { n: 2 },
      id: taken,
    });
    expect(refused.msgId).not.toBe(taken);
    expect((refused.data as { verdict: { decision: string; reason: string } }).verdict).toMatchObject({
      decision: 'deny',
      reason: 'envelope.duplicate_id',
    });
    expect((await o.ledger.byMessage(taken)).map((e) => e.subject)).not.toContain('job:2');
  });

  it('keeps the causation such a message claims out of the causation index, like any unchecked claim', async () => {
    const dir = writeMesh(0);
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    const first = await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    await o.mesh.idle();
    const refused = await o.mesh.inject('api', {
      type: 'job.queued.v1',
      subject: 'job:2',
      data: { n: 2 },
      id: first.msgId!,
      causationid: first.msgId!,
    });
    expect((refused.data as { verdict: { reason: string } }).verdict.reason).toBe('envelope.duplicate_id');
    expect(refused.causationId).toBeUndefined();
    expect((refused.data as { unverifiedCausation?: string }).unverifiedCausation).toBe(first.msgId);
    expect((await o.ledger.byCausation(first.msgId!)).map((e) => e.msgId)).not.toContain(refused.msgId);
  });
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
