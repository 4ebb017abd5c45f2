import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../envelope/index.js';
import { openLedger } from '../ledger/index.js';
import type { AgentDefinition } from './define.js';
import { whyChain } from './lineage.js';
import { ledgerFile, openMesh } from './open.js';
import { ENTRY } from './records.js';
import { reloadPolicy } from './reload-policy.js';
import { summarize } from './summary.js';
import { log, writeMesh } from './test-kit.js';
import type { AgentTransport } from './transports.js';

// The admit path's refusals of what no gate stage can read, and of ids the ledger already holds.

describe('input without a canonical JSON form', () => {
  it.each([
    ['a lone surrogate', { subject: 'job:\ud800', data: { n: 1 } }],
    ['a BigInt', { subject: 'job:1', data: { n: 1n } as unknown as { n: number } }],
    // JSON reads a boxed primitive by its internal slot, whatever its prototype says.
    [
      'a boxed BigInt without its prototype',
      { subject: 'job:1', data: { n: Object.setPrototypeOf(Object(1n), null) } },
    ],
    // JSON.stringify writes these as null: the ledger would record one thing and agents get another.
    ['Infinity', { subject: 'job:1', data: { n: Number.POSITIVE_INFINITY } }],
    ['NaN', { subject: 'job:1', data: { n: [1, Number.NaN] } as unknown as { n: number } }],
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

  it("quarantines a remote agent's event holding Infinity, and records its siblings as usual", async () => {
    const dir = writeMesh(0);
    const yaml = join(dir, 'mesh.yaml');
    writeFileSync(
      yaml,
      readFileSync(yaml, 'utf8').replace('module: ./agents/flaky.mjs', 'url: "http://127.0.0.1:9/flaky"'),
    );
    // The remote agent, in process: forwards what a JSON answer holding 1e400 would parse to.
    const transport: AgentTransport = {
      kind: 'url',
      connect: (): AgentDefinition => ({
        handle(_msg, ctx) {
          ctx.forward({ type: 'job.done.v1', data: { n: Number.POSITIVE_INFINITY } });
          ctx.forward({ type: 'job.done.v1', data: { n: 2 } });
        },
      }),
    };
    const opened = await openMesh({
      meshFile: join(dir, 'mesh.yaml'),
      dataDir: join(dir, 'data'),
      log,
      transports: [transport],
    });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    await o.mesh.idle();
    const verdicts = (await Array.fromAsync(o.ledger.scan())).flatMap((e) =>
      e.kind === ENTRY.decision ? [(e.data as { verdict: { reason: string; detail: string } }).verdict] : [],
    );
    expect(verdicts.map((v) => v.reason)).toEqual(['gate.admitted', 'envelope.not_json', 'gate.admitted']);
    expect(verdicts[1]?.detail).toContain('/data/n');
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
    // Recorded without its envelope, it is still named by its type and hop, not as unparsed input.
    const refused = (await Array.fromAsync(o.ledger.scan())).filter((e) => e.kind === ENTRY.decision)[1]!;
    const why = await whyChain(o.ledger, refused.msgId ?? '');
    expect(why?.chain.map((l) => [l.hop, l.type, l.reason])).toEqual([
      [0, 'job.queued.v1', 'gate.admitted'],
      [1, 'job.done.v1', 'envelope.too_deep'],
    ]);
  });

  it("names an agent's emission refused as too large by its type and hop", async () => {
    const dir = writeMesh(0);
    writeFileSync(
      join(dir, 'agents', 'flaky.mjs'),
      `export default { handle(msg, ctx) { ctx.emit('job.done.v1', { n: 1, pad: 'x'.repeat(2_000_000) }); } };`,
    );
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    await o.mesh.idle();
    const refused = (await Array.fromAsync(o.ledger.scan())).filter((e) => e.kind === ENTRY.decision)[1]!;
    const why = await whyChain(o.ledger, refused.msgId ?? '');
    expect(why?.chain.at(-1)).toMatchObject({ hop: 1, type: 'job.done.v1', reason: 'envelope.too_large' });
  });
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

describe('a change of state recorded outside a decision', () => {
  it('moves state only once the ledger accepted its entry: a freeze the ledger refused freezes nothing', async () => {
    const dir = writeMesh(0);
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    // The ledger refuses every append from here on, as it does once a commit failed.
    await o.ledger.close();
    const act = { pilot: 'ana', reason: 'checking' };
    const refused = o.mesh.pilot.freeze('job:1', act);
    if (isMeshwardenError(refused)) throw refused;
    await expect(refused).rejects.toMatchObject({ code: 'MW_LEDGER_CLOSED' });
    expect(summarize(o.mesh.counts(), o.mesh.state, o.ledger, o.mesh.policy).frozen).toEqual([]);
    // Not frozen in memory either: a second try is decided afresh, and refused by the ledger again.
    const again = o.mesh.pilot.freeze('job:1', act);
    if (isMeshwardenError(again)) throw again;
    await expect(again).rejects.toMatchObject({ code: 'MW_LEDGER_CLOSED' });
  });
  it('closes a hold only once the ledger took its release: an approval it refused leaves the hold listed', async () => {
    const dir = writeMesh(0, [
      'approvals:',
      "  - { id: big-job, when: 'msg.data.n > 10', timeout: 1h, onTimeout: deny }",
    ]);
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    const held = await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:9', data: { n: 99 } });
    await o.mesh.idle();
    expect(o.mesh.held().map((h) => h.msgId)).toEqual([held.msgId]);
    await o.ledger.close();
    const refused = o.mesh.pilot.approve(held.msgId!, { pilot: 'ana', reason: 'fine' });
    if (isMeshwardenError(refused)) throw refused;
    await expect(refused).rejects.toMatchObject({ code: 'MW_LEDGER_CLOSED' });
    expect(o.mesh.held().map((h) => h.msgId)).toEqual([held.msgId]);
  });

  it('puts a reloaded policy in force only once the ledger took its policy.loaded', async () => {
    const dir = writeMesh(0);
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: join(dir, 'data'), log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    const before = o.mesh.policy.digest;
    writeFileSync(join(dir, 'mesh.yaml'), `${readFileSync(join(dir, 'mesh.yaml'), 'utf8')}\nlimits: []\n`);
    await o.ledger.close();
    const reloaded = await reloadPolicy(o.mesh);
    expect(!reloaded.ok && reloaded.errors?.map((e) => e.code)).toEqual(['MW_LEDGER_CLOSED']);
    expect(o.mesh.policy.digest).toBe(before);
  });
});

describe('opening on a ledger that fails', () => {
  it('answers a typed error, and closes what it opened, when the first append fails', async () => {
    const dir = writeMesh(0);
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o700 });
    // A ledger file whose every insert fails: a deterministic commit failure at open.
    await openLedger({ file: ledgerFile(data), origin: 't' }).close();
    const db = new DatabaseSync(ledgerFile(data));
    db.exec(
      `CREATE TRIGGER boom BEFORE INSERT ON entries BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
    );
    db.close();
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: data, log });
    expect(!opened.ok && opened.errors?.map((e) => e.code)).toEqual(['MW_LEDGER_IO']);
  });
});
