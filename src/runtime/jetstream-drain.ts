import type { JetStreamLane } from './jetstream-lane.js';

/**
 * When the bus is quiet: no publish waiting for its ack, no lane holding a message, and every item
 * this bus published known to be handled: seen by its own lane of the partition (which holds nothing
 * now), or acked by the partition's consumer, wherever it runs (its ack floor, asked of the broker
 * every `pollMs` while a drain waits: work forwarded to another node, or handled before this bus
 * consumed the partition). Close waits only for the partitions this bus consumes.
 */
export function createDrainWatch(
  lanes: ReadonlyMap<number, JetStreamLane>,
  /** Lanes unsubscribed whose batches in flight are not settled yet. */
  retiring: ReadonlySet<JetStreamLane>,
  opts: {
    readonly pollMs: number;
    /** The stream sequence up to which a partition's consumer acked everything (rejects if none). */
    readonly ackFloor: (partition: number) => Promise<number>;
  },
) {
  const { pollMs } = opts;
  let inFlight = 0;
  // Items waiting for the stream behind a hand-off or a lane that could not finish them (jetstream-handover.ts).
  let republishing = 0;
  // Publishes per partition still waiting for the stream's ack.
  const unacked = new Map<number, number>();
  // The highest stream sequence this bus published per partition, and the ack floors asked for.
  const published = new Map<number, number>();
  const floors = new Map<number, number>();
  let waiters: { all: boolean; resolve: () => void; reject: (e: Error) => void }[] = [];
  let polling: ReturnType<typeof setTimeout> | undefined;

  const laneOf = (partition: number) => {
    const lane = lanes.get(partition);
    return lane !== undefined && lane.state !== 'gone' ? lane : undefined;
  };

  /** Partitions with items published here not known to be handled; `all`: not only those consumed here. */
  const behind = (all: boolean): number[] => {
    const partitions: number[] = [];
    for (const [partition, seq] of published) {
      const lane = laneOf(partition);
      if (lane === undefined && !all) continue;
      if (Math.max(floors.get(partition) ?? 0, lane?.highestSeen ?? 0) < seq) partitions.push(partition);
    }
    return partitions;
  };

  const idle = (): boolean => {
    if (inFlight > 0 || republishing > 0) return false;
    const busy = (lane: JetStreamLane) => lane.held.size > 0 || lane.local > 0 || lane.handedBack.size > 0;
    for (const lane of lanes.values()) if (busy(lane)) return false;
    for (const lane of retiring) if (busy(lane)) return false;
    return true;
  };

  const poll = () => {
    polling = undefined;
    void Promise.all(
      behind(true).map((partition) =>
        opts.ackFloor(partition).then(
          (floor) => {
            floors.set(partition, Math.max(floors.get(partition) ?? 0, floor));
          },
          () => {}, // no consumer yet: no one subscribed, so drain keeps waiting (the contract)
        ),
      ),
    ).then(check);
  };

  const check = () => {
    if (waiters.length === 0 || !idle()) return;
    const behindAll = behind(true);
    const behindHere = behindAll.filter((partition) => laneOf(partition) !== undefined);
    const ready = waiters.filter((w) => (w.all ? behindAll : behindHere).length === 0);
    if (ready.length > 0) {
      waiters = waiters.filter((w) => !ready.includes(w));
      for (const w of ready) w.resolve();
    }
    if (waiters.length > 0) polling ??= setTimeout(poll, pollMs);
  };

  return {
    check,
    /** Quiet as close needs it: the partitions this bus consumes. */
    quiet: () => idle() && behind(false).length === 0,
    republishing(delta: number) {
      republishing += delta;
      if (delta < 0) check();
    },
    /** Items published to a partition went out (+n), or failed (-n). */
    publishing(partition: number, delta: number) {
      inFlight += delta;
      unacked.set(partition, (unacked.get(partition) ?? 0) + delta);
      if (delta < 0) check();
    },
    /** The stream stored `count` items of a partition, the last at `seq`. */
    accepted(partition: number, seq: number, count: number) {
      inFlight -= count;
      unacked.set(partition, (unacked.get(partition) ?? 0) - count);
      if (seq > (published.get(partition) ?? 0)) published.set(partition, seq);
      check();
    },
    /**
     * Whether everything this bus published to a partition through the stream has reached `lane`
     * (or was acked wherever it went): an item handed over in process now comes after all of it.
     */
    caughtUp(partition: number, lane: JetStreamLane): boolean {
      if ((unacked.get(partition) ?? 0) > 0) return false;
      return Math.max(floors.get(partition) ?? 0, lane.highestSeen) >= (published.get(partition) ?? 0);
    },
    /** Resolves once quiet; `all` waits for the partitions consumed elsewhere too (drain), or not (close). */
    until(all: boolean): Promise<void> {
      const wait = new Promise<void>((resolve, reject) => waiters.push({ all, resolve, reject }));
      check();
      return wait;
    },
    fail(error: Error) {
      if (polling !== undefined) clearTimeout(polling);
      for (const w of waiters) w.reject(error);
      waiters = [];
    },
  };
}
