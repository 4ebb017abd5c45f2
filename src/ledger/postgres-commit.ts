import type pg from 'pg';
import type { MeshwardenError } from '../envelope/index.js';
import { causeText, ledgerError } from './errors.js';
import { GENESIS } from './hash.js';
import {
  brokenLinkSql,
  commitParams,
  copySql,
  fencedError,
  type Prepared,
  prepareBatch,
  staleSql,
  withoutPartition,
} from './postgres-batch.js';
import { copyChains, type Refused } from './postgres-copy.js';
import type { PostgresLocation } from './postgres-location.js';
import type { Head, Tables } from './postgres-schema.js';
import type { LedgerEntry } from './types.js';

/** Group commit on PostgreSQL: chained entries wait here until their batch's COPY has committed. */
export type PostgresCommitter = {
  /** Queues one entry and its body; resolves once committed, its prev and hash filled in. */
  push(entry: LedgerEntry, body: string): Promise<void>;
  /** Queues entries of one partition that must commit together: they never straddle two commits. */
  pushGroup(entries: readonly LedgerEntry[], bodies: readonly string[]): Promise<void>;
  /** Resolves once everything queued so far is committed or fenced; rejects with a failure that closed it. */
  flush(): Promise<void>;
  /**
   * Runs `step` after everything queued so far is committed or fenced, and before anything queued
   * later: nothing commits meanwhile, so the heads are exactly what this writer committed.
   */
  between<T>(step: () => Promise<T>): Promise<T>;
  /** `between`, where only `partition`'s commits must wait (adopting it): one lane's, with lanes. */
  betweenOn<T>(partition: number, step: () => Promise<T>): Promise<T>;
  /** The fence on a partition, if it has one: its appends are refused with it until `lift`. */
  fenceOf(partition: number): MeshwardenError | undefined;
  /** Fences a partition: its queued entries fail with `err`, and it leaves the heads. */
  fence(partition: number, err: MeshwardenError): void;
  /** Continues a partition's chain from `head` (as stored) and lifts its fence; call it in `between`. */
  lift(partition: number, head: Head | undefined): void;
  /** The partitions this writer committed to or lifted since it opened, and not fenced since. */
  readonly held: ReadonlySet<number>;
};

export type PostgresCommitterOptions = {
  readonly pool: pg.Pool;
  readonly tables: Tables;
  readonly at: PostgresLocation;
  /** Entries per commit (one COPY) at most when queued batches are merged (a group is never split). */
  readonly batchSize: number;
  /** Each partition's durable head: commits continue the chains from it and move it. */
  readonly heads: Map<number, Head>;
  /** Called once, on the first failed commit that is no fence; everything queued is rejected with it. */
  readonly onFailure: (err: MeshwardenError) => void;
  /** Called for each fence, once the partition's queued entries have been rejected. */
  readonly onFenced: (partition: number, err: MeshwardenError) => void;
};

type Waiter = { readonly promise: Promise<void>; resolve(): void; reject(err: Error): void };

const waiter = (): Waiter => {
  const w = Promise.withResolvers<void>();
  // Awaited by whoever appends; failures are also reported through onFailure/onFenced.
  w.promise.catch(() => {});
  return w;
};

type Batch = {
  entries: LedgerEntry[];
  bodies: string[];
  /** One promise per partition: a fence fails that partition's entries, the others' commit. */
  readonly waits: Map<number, Waiter>;
  /** Settles once the batch is committed or fenced (what `flush` awaits). */
  readonly settled: Waiter;
  /** Set when sealed: hashed and written out while the commit before it runs. */
  prepared?: Prepared;
};
/** A step run between two commits (`between`). */
type Step = { readonly run: () => Promise<void> };
const isStep = (item: Batch | Step): item is Step => 'run' in item;

/** Fills in each committed entry's prev and hash, and moves the heads. */
function link(linked: readonly (readonly [LedgerEntry, string, string])[], heads: Map<number, Head>) {
  for (const [entry, prev, hash] of linked) {
    const e = entry as { -readonly [K in keyof LedgerEntry]: LedgerEntry[K] };
    e.prev = prev;
    e.hash = hash;
    const head = heads.get(e.partition);
    if (head === undefined) heads.set(e.partition, { seq: e.seq, hash });
    else {
      head.seq = e.seq;
      head.hash = hash;
    }
  }
}

export function startPostgresCommitter(opts: PostgresCommitterOptions): PostgresCommitter {
  const { pool, tables, at, heads, batchSize } = opts;
  const copy = copySql(tables);
  const broken = `${brokenLinkSql(tables)} ORDER BY 1`;
  const stale = `${staleSql(tables)} ORDER BY 1`;
  let waiting: Batch | undefined;
  const queued: (Batch | Step)[] = [];
  let running = false;
  let failure: MeshwardenError | undefined;
  let lastDone: Promise<void> = Promise.resolve();
  /** A seal is scheduled for the next turn of the event loop: a batch holds what one tick appends. */
  let ticking = false;
  /** Each partition's hash as of the last sealed batch: where the next one's chain continues. */
  const sealed = new Map<number, string>();
  const fences = new Map<number, MeshwardenError>();
  const held = new Set<number>();

  const open = (): Batch => {
    if (!ticking) {
      ticking = true;
      setImmediate(() => {
        ticking = false;
        seal();
      });
    }
    waiting = { entries: [], bodies: [], waits: new Map(), settled: waiter() };
    return waiting;
  };
  const waitOf = (b: Batch, partition: number): Promise<void> => {
    let w = b.waits.get(partition);
    if (w === undefined) {
      w = waiter();
      b.waits.set(partition, w);
    }
    return w.promise;
  };

  /** Closes the batch being filled, prepares it, and hands it to the commit loop. */
  const seal = () => {
    const b = waiting;
    if (b === undefined) return;
    waiting = undefined;
    b.prepared = prepareBatch(b.entries, b.bodies, (p) => sealed.get(p) ?? heads.get(p)?.hash ?? GENESIS);
    for (const [entry, , hash] of b.prepared.linked) sealed.set(entry.partition, hash);
    queued.push(b);
    lastDone = b.settled.promise;
    void next();
  };

  const settle = (b: Batch, err?: MeshwardenError) => {
    for (const w of b.waits.values()) err === undefined ? w.resolve() : w.reject(err);
    err === undefined ? b.settled.resolve() : b.settled.reject(err);
  };

  const fail = (err: MeshwardenError, lost: readonly Batch[]) => {
    failure ??= err;
    for (const b of lost) settle(b, failure);
    // A step that was queued fails by itself: it sees the failure when it runs.
    for (const item of queued.splice(0)) isStep(item) ? void item.run() : settle(item, failure);
    if (waiting !== undefined) settle(waiting, failure);
    waiting = undefined;
    opts.onFailure(failure);
  };

  /** Takes a partition's entries out of `batches` and everything queued, failing them with `err`. */
  const fence = (partition: number, err: MeshwardenError, batches: readonly Batch[] = []) => {
    if (fences.has(partition)) return;
    fences.set(partition, err);
    held.delete(partition);
    heads.delete(partition);
    sealed.delete(partition);
    const drop = (b: Batch) => {
      b.waits.get(partition)?.reject(err);
      b.waits.delete(partition);
      if (b.prepared !== undefined) b.prepared = withoutPartition(b.prepared, partition);
      else {
        const keep = b.entries.map((e, i) => (e.partition === partition ? -1 : i)).filter((i) => i >= 0);
        b.entries = keep.map((i) => b.entries[i]!);
        b.bodies = keep.map((i) => b.bodies[i]!);
      }
    };
    for (const b of batches) drop(b);
    for (const item of queued) if (!isStep(item)) drop(item);
    if (waiting !== undefined) drop(waiting);
    opts.onFenced(partition, err);
  };

  /** Commits the queued batches, merged up to `batchSize` entries, one commit at a time. */
  const next = async () => {
    if (running) return;
    running = true;
    while (queued.length > 0 && failure === undefined) {
      const first = queued[0]!;
      if (isStep(first)) {
        queued.shift();
        await first.run();
        continue;
      }
      let end = 1;
      let n = first.entries.length;
      for (; end < queued.length; end++) {
        const b = queued[end]!;
        if (isStep(b) || n + b.entries.length > batchSize) break;
        n += b.entries.length;
      }
      const batches = queued.splice(0, end) as Batch[];
      const err = await commit(batches);
      if (err !== undefined) fail(err, batches);
      else for (const b of batches) settle(b);
    }
    running = false;
  };

  /**
   * Copies the batches in as one COPY and moves the heads once it has committed. Partitions whose
   * first row does not continue their stored chain, or whose seq another writer took (the COPY is
   * refused), are fenced, and the rest copied again without them.
   */
  const commit = async (batches: readonly Batch[]): Promise<MeshwardenError | undefined> => {
    for (;;) {
      const { data, firsts, linked } = commitParams(batches.map((b) => b.prepared!));
      if (linked.length === 0) return undefined;
      let refused: Refused;
      try {
        refused = await copyChains(pool, { broken, copy, stale }, { data, firsts, count: linked.length });
      } catch (err) {
        const cause = at.scrub(causeText(err));
        return ledgerError(
          'MW_LEDGER_IO',
          { file: at.label, action: `commit ${linked.length} entries`, cause },
          { cause: err },
        );
      }
      if (refused.length === 0) {
        for (const p of firsts[0]) held.add(p);
        link(linked, heads);
        return undefined;
      }
      for (const [partition, seq] of refused) fence(partition, fencedError(at, partition, seq), batches);
    }
  };

  const rejected = () => Promise.reject(failure ?? ledgerError('MW_LEDGER_CLOSED', {}));

  const committer: PostgresCommitter = {
    push(entry, body) {
      if (failure !== undefined) return rejected();
      const b = waiting ?? open();
      b.entries.push(entry);
      b.bodies.push(body);
      const done = waitOf(b, entry.partition);
      if (b.entries.length >= batchSize) seal();
      return done;
    },
    pushGroup(entries, bodies) {
      if (failure !== undefined) return rejected();
      if (waiting !== undefined && waiting.entries.length + entries.length > batchSize) seal();
      const b = waiting ?? open();
      for (let i = 0; i < entries.length; i++) {
        b.entries.push(entries[i]!);
        b.bodies.push(bodies[i]!);
      }
      const done = waitOf(b, entries[0]!.partition);
      if (b.entries.length >= batchSize) seal();
      return done;
    },
    flush() {
      if (failure !== undefined) return Promise.reject(failure);
      seal();
      return lastDone;
    },
    between(step) {
      if (failure !== undefined) return rejected();
      seal();
      const { promise, resolve, reject } = Promise.withResolvers<Awaited<ReturnType<typeof step>>>();
      const run = async () => {
        if (failure !== undefined) return reject(failure);
        try {
          resolve(await step());
        } catch (err) {
          reject(err);
        }
      };
      queued.push({ run });
      const done = promise.then(
        () => {},
        () => {},
      );
      lastDone = done;
      void next();
      return promise;
    },
    betweenOn: (_partition, step) => committer.between(step),
    fenceOf: (partition) => fences.get(partition),
    fence: (partition, err) => fence(partition, err),
    lift(partition, head) {
      fences.delete(partition);
      sealed.delete(partition);
      held.add(partition);
      if (head === undefined || head.seq === 0) heads.delete(partition);
      else heads.set(partition, { seq: head.seq, hash: head.hash });
    },
    held,
  };
  return committer;
}
