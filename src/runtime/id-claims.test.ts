import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { partitionOf } from '../envelope/index.js';
import { type Ledger, type LedgerEntry, openLedger } from '../ledger/index.js';
import { loadPolicy } from '../policy/index.js';
import type { AgentDefinition } from './define.js';
import { createIdClaims } from './id-claims.js';
import { createMesh, type Mesh } from './mesh.js';
import { loadModules } from './modules.js';
import { ENTRY } from './records.js';
import { log } from './test-kit.js';
import type { AgentTransport } from './transports.js';

// Two messages with one id from outside, on subjects of different partitions, whose duplicate-id
// reads and commits interleave: the ledger must name one message by that id, never two.

const ID = '0190f2a0-0000-7000-8000-00000000c1a1';

/** Two partitions; `remote` (a remote agent, reached through `transport`) answers job.queued.v1. */
function writeMesh(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-claims-'));
  mkdirSync(join(dir, 'contracts'));
  const yaml = [
    'mesh: t',
    'partitions: 2',
    'agents:',
    '  remote: { version: 1.0.0, url: "http://127.0.0.1:9/remote", consumes: [job.queued.v1], emits: [job.done.v1] }',
    '  sink: { version: 1.0.0, module: ./sink.mjs, consumes: [job.done.v1] }',
    'ingress:',
    '  api: { emits: [job.queued.v1, job.done.v1] }',
  ];
  writeFileSync(join(dir, 'mesh.yaml'), yaml.join('\n'));
  for (const type of ['job.queued.v1', 'job.done.v1'])
    writeFileSync(join(dir, 'contracts', `${type}.json`), JSON.stringify({ type: 'object' }));
  writeFileSync(join(dir, 'sink.mjs'), 'export default { handle() {} };');
  return dir;
}

/** The remote agent, in process: answers every message with a job.done.v1 on job:2 under id ID. */
const transport: AgentTransport = {
  kind: 'url',
  connect: (): AgentDefinition => ({
    handle(_msg, ctx) {
      ctx.forward({ type: 'job.done.v1', data: {}, id: ID, subject: 'job:2' });
    },
  }),
};

/**
 * The real SQLite ledger, whose first `held` reads of ID are made when called but answered only once
 * `release` is called: as a slow reader answers, with what it read then; reads of the id given to
 * `fail` reject.
 */
function slowReads(ledger: Ledger, held: number) {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const made: Promise<unknown>[] = [];
  let waiting: { count: number; resolve: () => void } | undefined;
  let failing: string | undefined;
  const byMessage = (msgId: string): Promise<LedgerEntry[]> => {
    // As a reader whose connection dropped answers.
    if (msgId === failing) return Promise.reject(new Error('connection reset'));
    const read = ledger.byMessage(msgId);
    if (msgId !== ID || made.length === held) return read;
    made.push(read);
    if (waiting !== undefined && made.length >= waiting.count) waiting.resolve();
    return read.then((found) => gate.then(() => found));
  };
  /** Resolves once `count` reads of ID were made and have read the ledger. */
  const madeReads = async (count: number) => {
    if (made.length < count) await new Promise<void>((resolve) => (waiting = { count, resolve }));
    await Promise.all(made);
  };
  const fail = (id: string) => {
    failing = id;
  };
  // A batch's read, as the adapters answer it: each id's first entry, through the reads above.
  const firstOfEach = async (ids: readonly string[]): Promise<Map<string, LedgerEntry>> => {
    const found = await Promise.all(ids.map((id) => byMessage(id)));
    return new Map(ids.flatMap((id, i) => (found[i]![0] === undefined ? [] : [[id, found[i]![0]] as const])));
  };
  return { ledger: { ...ledger, byMessage, firstOfEach }, madeReads, release: () => release(), fail };
}

async function openSlowMesh(
  held: number,
): Promise<{ mesh: Mesh; ledger: Ledger; slow: ReturnType<typeof slowReads> }> {
  const dir = writeMesh();
  const loaded = await loadPolicy(join(dir, 'mesh.yaml'));
  if (!loaded.ok) throw new Error(JSON.stringify(loaded));
  const modules = await loadModules(loaded.policy, [transport]);
  if (!modules.ok) throw new Error(JSON.stringify(modules));
  const ledger = openLedger({ file: join(dir, 'ledger.db'), origin: 't' });
  const slow = slowReads(ledger, held);
  const mesh = createMesh({ policy: loaded.policy, ledger: slow.ledger, modules: modules.modules, log });
  return { mesh, ledger, slow };
}

const reasonOf = (e: LedgerEntry) => (e.data as { verdict: { reason: string } }).verdict.reason;

/** The decisions the ledger holds under ID, by reason. */
async function decidedUnderId(ledger: Ledger): Promise<string[]> {
  return (await ledger.byMessage(ID)).filter((e) => e.kind === ENTRY.decision).map(reasonOf);
}

describe('ids from outside claimed across partitions', () => {
  it('judges a remote agent’s event as taken while a root message with its id is claimed elsewhere', async () => {
    expect([partitionOf('job:1', 2), partitionOf('job:2', 2)]).toEqual([1, 0]);
    const { mesh, ledger, slow } = await openSlowMesh(2);
    try {
      // The remote answers a job on job:1 with an event of id ID on job:2 (partition 0); a root
      // message with id ID comes in on job:1 (partition 1). Both reads miss the other.
      await mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: {} });
      const root = mesh.inject('api', { type: 'job.done.v1', subject: 'job:1', data: {}, id: ID });
      await slow.madeReads(2);
      slow.release();
      await root;
      await mesh.idle();
      const reasons = await decidedUnderId(ledger);
      expect(reasons).toEqual(['gate.admitted']);
      const refused = (await Array.fromAsync(ledger.scan({ kinds: [ENTRY.decision] }))).map(reasonOf);
      expect(refused.filter((r) => r === 'envelope.id_taken' || r === 'envelope.duplicate_id')).toHaveLength(
        1,
      );
    } finally {
      await mesh.close();
      await ledger.close();
    }
  });

  it('keeps a claim until a read that missed it was used, though its record is durable by then', async () => {
    const { mesh, ledger, slow } = await openSlowMesh(1);
    try {
      // The second message's read is made first and answered last: after the first is durable.
      const second = mesh.inject('api', { type: 'job.done.v1', subject: 'job:2', data: {}, id: ID });
      await slow.madeReads(1);
      const first = await mesh.inject('api', { type: 'job.done.v1', subject: 'job:1', data: {}, id: ID });
      expect(reasonOf(first)).toBe('gate.admitted');
      slow.release();
      expect(reasonOf(await second)).toBe('envelope.duplicate_id');
      await mesh.idle();
      expect(await decidedUnderId(ledger)).toEqual(['gate.admitted']);
    } finally {
      await mesh.close();
      await ledger.close();
    }
  });
});

describe('a duplicate-id read that fails', () => {
  it('fails the messages whose ids its batch read; the rest of the batch is admitted', async () => {
    const { mesh, ledger, slow } = await openSlowMesh(0);
    const FAILING = '0190f2a0-0000-7000-8000-00000000fa11';
    slow.fail(FAILING);
    try {
      // Sent in one tick: one batch of partition 1, whose reads run at once.
      const [failed, other, plain] = await Promise.allSettled([
        mesh.inject('api', { type: 'job.done.v1', subject: 'job:1', data: {}, id: FAILING }),
        mesh.inject('api', { type: 'job.done.v1', subject: 'job:1', data: {}, id: ID }),
        mesh.inject('api', { type: 'job.done.v1', subject: 'job:1', data: {} }),
      ]);
      // One read answers the batch's ids: when it fails, every message that needed it fails with it.
      expect(failed).toMatchObject({ status: 'rejected', reason: { code: 'MW_RUNTIME_ID_READ' } });
      expect(other).toMatchObject({ status: 'rejected', reason: { code: 'MW_RUNTIME_ID_READ' } });
      expect(plain.status === 'fulfilled' && reasonOf(plain.value)).toBe('gate.admitted');
      await mesh.idle();
      expect(await ledger.byMessage(FAILING)).toEqual([]);
    } finally {
      await mesh.close();
      await ledger.close();
    }
  });
});

describe('a claim on its own', () => {
  /** A promise and its resolve, for a record's durability. */
  const pending = () => {
    let resolve: () => void = () => {};
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    return { promise, resolve };
  };
  const settle = () => new Promise<void>((r) => setImmediate(r));

  it('holds until its record is durable and every read registered before it was used', async () => {
    const claims = createIdClaims();
    const before = claims.reading(['a']);
    const other = claims.reading(['b']);
    const durable = pending();
    claims.claim('a', durable.promise);
    const after = claims.reading(['a']);
    durable.resolve();
    await settle();
    expect(claims.has('a')).toBe(true);
    before();
    await settle();
    // A read of another id, registered before the claim, may have been the batch that read `a` too.
    expect(claims.has('a')).toBe(true);
    other();
    // A read registered after the claim sees the record: it does not hold the claim.
    expect(claims.has('a')).toBe(false);
    after();
    expect(claims.has('a')).toBe(false);
  });

  it('releases a claim with no read in flight once durable, or failed; each holder its own', async () => {
    const claims = createIdClaims();
    const first = pending();
    claims.claim('a', first.promise);
    claims.claim('a', Promise.reject(new Error('commit failed')));
    await settle();
    expect(claims.has('a')).toBe(true);
    first.resolve();
    await settle();
    expect(claims.has('a')).toBe(false);
  });

  it('says a read was used once, however often it is told', async () => {
    const claims = createIdClaims();
    const read = claims.reading(['a']);
    const later = claims.reading(['b']);
    claims.claim('a', Promise.resolve());
    read();
    read();
    await settle();
    expect(claims.has('a')).toBe(true);
    later();
    expect(claims.has('a')).toBe(false);
  });
});
