import { type Ledger, sizeOf } from '../runtime/index.js';

export type VerifyStatus = {
  readonly at: string;
  readonly ok: boolean;
  /** Intact: every entry checked. Not intact: the good entries read before the first bad one. */
  readonly entries: number;
  /** How many entries the ledger held when it was verified, good or not. */
  readonly size: number;
  readonly firstBad?: { readonly partition: number; readonly seq: number; readonly detail: string };
};

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A verify still reading: since when, how many entries it has read, of how many the ledger held then. */
export type VerifyRunning = { readonly startedAt: string; readonly read: number; readonly total: number };

/** The ledger's integrity as the console shows it: the last verify and the last checkpoint. */
export type Integrity = {
  status(): Promise<{
    /** The ledger's durability in force: `full` survives a power loss, `normal` a crash of the process. */
    durability: Ledger['durability'];
    entries: number;
    head: string;
    heads: readonly { partition: number; size: number; head: string }[];
    lastVerify: VerifyStatus | null;
    /**
     * The verify under way (`up`'s at start, which runs while the mesh serves, or a pilot's); null
     * when none is.
     */
    verifying: VerifyRunning | null;
    lastCheckpoint: {
      at: string;
      size: number;
      head: string;
      heads: readonly { partition: number; size: number; head: string }[];
    } | null;
  }>;
  /**
   * Verifies every chain now (the ledger is read in one pass, as a stream) and remembers the result;
   * `onProgress` as the ledger's `verify` tells it. One at a time: a call while a verify runs gets
   * that verify's outcome (and no progress).
   */
  verify(onProgress?: (verified: number) => void): Promise<VerifyStatus>;
};

/**
 * `tampered` is told of a verify that found a bad entry (the `ledger.verify_failed` alert);
 * `verified` of every verify as it ends (telemetry).
 */
export function createIntegrity(
  ledger: Ledger,
  now: () => number,
  told: {
    readonly tampered?: (bad: NonNullable<VerifyStatus['firstBad']>) => void;
    readonly verified?: (ok: boolean, atMs: number) => void;
  } = {},
): Integrity {
  let lastVerify: VerifyStatus | null = null;
  /** The verify under way: how far it has read, and its outcome to come. */
  let underway: { readonly run: Mutable<VerifyRunning>; readonly done: Promise<VerifyStatus> } | undefined;
  const readAll = async (
    run: Mutable<VerifyRunning>,
    onProgress?: (verified: number) => void,
  ): Promise<VerifyStatus> => {
    // A failed verify stops at the first bad entry: what the ledger held is taken before it reads.
    const before = sizeOf(await ledger.storedHeads());
    run.total = before;
    const result = await ledger.verify({
      onProgress: (read) => {
        run.read = read;
        // A live ledger grows while it is read.
        run.total = Math.max(run.total, read);
        onProgress?.(read);
      },
    });
    lastVerify = result.ok
      ? { at: new Date(now()).toISOString(), ok: true, entries: result.entries, size: result.entries }
      : {
          at: new Date(now()).toISOString(),
          ok: false,
          entries: result.entries,
          size: Math.max(before, result.entries),
          firstBad: { partition: result.partition, seq: result.seq, detail: result.detail },
        };
    told.verified?.(lastVerify.ok, Date.parse(lastVerify.at));
    if (lastVerify.firstBad !== undefined) told.tampered?.(lastVerify.firstBad);
    return lastVerify;
  };
  return {
    async status() {
      // As the call finds it: a short verify may end while the checkpoints are read.
      const verifying = underway === undefined ? null : { ...underway.run };
      // As stored: in a cluster, the writer's own heads() are only the partitions this node writes.
      const heads = await ledger.storedHeads();
      const checkpoint = (await ledger.checkpoints()).at(-1);
      return {
        durability: ledger.durability,
        entries: sizeOf(heads),
        head: heads[0]?.head ?? '',
        heads,
        lastVerify,
        verifying,
        lastCheckpoint:
          checkpoint === undefined
            ? null
            : {
                at: new Date(checkpoint.at).toISOString(),
                size: checkpoint.partitions.reduce((n, h) => n + h.size, 0),
                head: checkpoint.partitions[0]?.head ?? '',
                heads: checkpoint.partitions,
              },
      };
    },
    verify(onProgress) {
      // One at a time: a pilot's verify during up's start-up one (or another pilot's) gets that
      // one's outcome, rather than a second full read of the ledger racing it for the last word.
      if (underway !== undefined) return underway.done;
      // Under way from the call on; its total, the writer's view until the stored heads are read.
      const run = { startedAt: new Date(now()).toISOString(), read: 0, total: sizeOf(ledger.heads()) };
      const done = readAll(run, onProgress).finally(() => {
        underway = undefined;
      });
      underway = { run, done };
      return done;
    },
  };
}
