import type { JetStreamLane } from './jetstream-lane.js';

/**
 * When the bus is quiet: no publish waiting for its ack, no lane holding a message, and every item
 * this bus published has been handled: by its own lane (which saw past its sequence and holds
 * nothing), or, for a partition consumed elsewhere, by that partition's consumer (its ack floor,
 * asked of the broker every `drainPollMs`). Close ignores the partitions consumed elsewhere.
 */
export function createDrainWatch(
  lanes: ReadonlyMap<number, JetStreamLane>,
  opts: {
    readonly pollMs: number;
    /** The stream sequence up to which a partition's consumer acked everything (rejects if none). */
    readonly ackFloor: (partition: number) => Promise<number>;
  },
) {
  const { pollMs } = opts;
  let inFlight = 0;
  // The highest stream sequence this bus published per partition, and the ack floors seen elsewhere.
  const published = new Map<number, number>();
  const floors = new Map<number, number>();
  let waiters: { remote: boolean; resolve: () => void; reject: (e: Error) => void }[] = [];
  let polling: ReturnType<typeof setTimeout> | undefined;

  /** Partitions this bus published to that no live lane of it consumes and whose floor is behind. */
  const behindElsewhere = (): number[] => {
    const behind: number[] = [];
    for (const [partition, seq] of published) {
      const lane = lanes.get(partition);
      if ((lane === undefined || lane.state === 'gone') && (floors.get(partition) ?? 0) < seq)
        behind.push(partition);
    }
    return behind;
  };

  const quietHere = (): boolean => {
    if (inFlight > 0) return false;
    for (const lane of lanes.values()) if (lane.held.size > 0) return false;
    for (const [partition, seq] of published) {
      const lane = lanes.get(partition);
      // A lane binding or consuming sees its partition's items arrive in order.
      if (lane !== undefined && lane.state !== 'gone' && lane.highestSeen < seq) return false;
    }
    return true;
  };

  const poll = () => {
    polling = undefined;
    const behind = behindElsewhere();
    void Promise.all(
      behind.map((partition) =>
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
    if (waiters.length === 0) return;
    if (!quietHere()) return;
    const remoteBehind = behindElsewhere().length > 0;
    const ready = waiters.filter((w) => !w.remote || !remoteBehind);
    if (ready.length === 0) {
      polling ??= setTimeout(poll, pollMs);
      return;
    }
    waiters = waiters.filter((w) => w.remote && remoteBehind);
    for (const w of ready) w.resolve();
    if (waiters.length > 0) polling ??= setTimeout(poll, pollMs);
  };

  return {
    check,
    quiet: quietHere,
    publishing(delta: number) {
      inFlight += delta;
      if (delta < 0) check();
    },
    accepted(partition: number, seq: number) {
      inFlight--;
      if (seq > (published.get(partition) ?? 0)) published.set(partition, seq);
      check();
    },
    /** Resolves once quiet; `remote` waits for the partitions consumed elsewhere too. */
    until(remote: boolean): Promise<void> {
      const wait = new Promise<void>((resolve, reject) => waiters.push({ remote, resolve, reject }));
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
