import type { AsyncLocalStorage } from 'node:async_hooks';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { errorText } from '../envelope/index.js';
import type { BusHandler, BusReceipt, BusValue } from './bus.js';
import { runtimeError } from './errors.js';
import { unpackItems } from './jetstream-pack.js';
import { isThenable } from './thenable.js';

/**
 * One subscribed partition of the JetStream bus: the messages its pull consumer delivered and this
 * process has not acked yet (`held`: queued, in the handler, or waiting for a receipt), and the pump
 * that hands them to the handler one batch at a time, in delivery order.
 */
export type JetStreamLane<T = unknown> = {
  readonly partition: number;
  /** Delivered and not yet acked (or termed, or handed back): drain waits for it to empty. */
  readonly held: Set<JsMsg>;
  /** Items handed over in process (`arriveLocal`) not yet done with: drain waits until none is left. */
  local: number;
  /** Stream sequences handed back (`nak`) as not durable, due back here: drain waits for them. */
  readonly handedBack: Set<number>;
  /** The highest stream sequence delivered here: every item this bus published up to it arrived. */
  highestSeen: number;
  /** Binding its consumer, consuming, or gone (its consumer failed, or the lane stopped). */
  state: 'binding' | 'live' | 'gone';
  messages: ConsumerMessages | undefined;
  /** Takes one delivered message (the consumer's callback). */
  arrive(msg: JsMsg): void;
  /**
   * Takes an item this process published for the partition, without the broker: queued behind what
   * was delivered, handled like it. Not durable, or given up with the lane, it goes to the stream. A
   * live lane's only: the bus queues what comes for a lane being given up behind what it still has.
   */
  arriveLocal(item: T): void;
  /** Sends a working indicator (`+WPI`) for every held message: its ack wait starts again. */
  extend(): void;
  /** Stops acking and handing out: held messages not yet handled go back to the stream (`nak`). */
  stop(): void;
  /**
   * Stops handing out (unsubscribe): queued and later arriving messages go back (`nak`), batches in
   * the handler or waiting for their receipt are still acked (or handed back); resolves once none is held.
   */
  retire(): Promise<void>;
};

export type LaneDeps<T> = {
  readonly partition: number;
  readonly handler: BusHandler<T>;
  readonly maxBatch: number;
  /** The async context of handlers: what they publish while the bus closes is a follow-up. */
  readonly handling: AsyncLocalStorage<true>;
  readonly report: (error: Error, partition: number, items: readonly T[]) => void;
  /** How long the broker waits before redelivering a batch that did not become durable. */
  readonly redeliverDelayMs: number;
  /** Called after held messages were acked or handed back: drain may be satisfied. */
  readonly settled: () => void;
  /** Publishes items that came in process and were not durable here to the stream, in the order given. */
  readonly republish: (items: readonly T[]) => void;
  /**
   * Called once when the lane being given up is done (or stopped): what came in process and it still
   * had, for the stream, in order, ahead of what was published for the partition meanwhile.
   */
  readonly handedOver: (items: readonly T[]) => void;
  /** Told of items that came in process and can no longer go anywhere: the bus stopped. */
  readonly reportDropped: (items: readonly T[]) => void;
};

/**
 * A delivered message and its items (one, or several packed in it: jetstream-pack.ts); no message for
 * an item that came in process (`arriveLocal`). A message's items are handled in one batch, so that it
 * is acked, or handed back, once.
 */
type Queued<T> = { readonly msg: JsMsg | undefined; readonly items: readonly T[] };

export function createJetStreamLane<T extends BusValue>(deps: LaneDeps<T>): JetStreamLane<T> {
  const { partition, report, settled, redeliverDelayMs } = deps;
  const arrivals = createArrivals<T>(deps.maxBatch);
  let busy = false;
  let stopped = false;
  let retiring = false;
  let retired: (() => void) | undefined;
  /** Retiring, and what it had in process went to the stream (`finishRetiring`). */
  let done = false;
  /**
   * While retiring: the items that came in process to publish for the next owner once none is left
   * in flight, in the order they came: the batches in flight that were not durable, by the order they
   * were handed out (not the order their receipts failed), then what was queued behind them.
   */
  const leaving = { inFlight: new Map<number, readonly T[]>(), queued: [] as T[] };
  /** Batches handed to the handler so far: each one's place, for `leaving`. */
  let handedOut = 0;
  /** What is leaving, in order, and no longer held here. */
  const takeLeaving = (): T[] => {
    const inFlight = [...leaving.inFlight].sort(([a], [b]) => a - b).flatMap(([, items]) => items);
    const left = inFlight.concat(leaving.queued);
    leaving.inFlight.clear();
    leaving.queued = [];
    return left;
  };

  // Acked once durable. A receipt that rejects means not durable: acked would be gone (a work
  // queue), so it is handed back (`nak`), to come again after the delay. Once stopped (the bus
  // closed or lost its connection) neither: it is redelivered after the ack wait, as after a crash.
  // An item that came in process has no message to ack: done once durable, else published to the
  // stream (as a nak hands a message back; when retiring, with the rest once none is in flight), or,
  // once stopped, told as dropped.
  const settle = (batch: readonly Queued<T>[], durable: boolean, place = 0) => {
    const back: T[] = [];
    for (const { msg, items } of batch) {
      if (msg !== undefined) continue;
      lane.local--;
      if (!durable) back.push(...items);
    }
    if (stopped) {
      if (back.length > 0) deps.reportDropped(back);
      return;
    }
    for (const { msg } of batch) {
      if (msg === undefined) continue;
      if (durable) msg.ack();
      else msg.nak(retiring ? undefined : redeliverDelayMs);
      if (!durable && !retiring) lane.handedBack.add(msg.seq); // due back here, not elsewhere
      lane.held.delete(msg);
    }
    if (retiring) {
      if (back.length > 0) leaving.inFlight.set(place, back);
    } else if (back.length > 0) deps.republish(back);
    if (retired !== undefined) {
      // Its items in process all settled, what it had is final: it goes now, not once its messages
      // from the stream settle too (one not durable goes back to its place in the stream anyway).
      if (lane.local === 0 && !done) finishRetiring(takeLeaving());
      if (isEmpty()) retired();
    }
    settled();
  };
  /** Retired (or stopped while retiring): what it had in process goes to the stream first, once. */
  const finishRetiring = (left: readonly T[]) => {
    if (done) return;
    done = true;
    deps.handedOver(left);
  };
  const isEmpty = () => lane.held.size === 0 && lane.local === 0;
  /** What waits for the handler goes back: to the stream, for the partition's next owner. */
  const giveBackQueued = () => {
    const local: T[] = [];
    for (const { msg, items } of arrivals.takeRest()) {
      if (msg === undefined) {
        lane.local--;
        local.push(...items);
        continue;
      }
      msg.nak();
      lane.held.delete(msg);
    }
    if (!stopped) {
      leaving.queued = leaving.queued.concat(local); // not a spread: they may be many
      return;
    }
    const lost = [...takeLeaving(), ...local];
    if (lost.length > 0) deps.reportDropped(lost);
  };

  const pump = (): void => {
    const batch = stopped || retiring ? undefined : arrivals.take();
    if (batch === undefined) {
      busy = false;
      return;
    }
    const items = itemsOf(batch);
    const place = handedOut++;
    // A receipt's batch is acked once `done` resolves, the next batch need not wait for it; a
    // rejected `done` hands it back; a handler's throw is reported and the batch acked (the contract).
    runHandler(deps, items, (receipt) => {
      const done = (receipt as BusReceipt | null | undefined)?.done;
      if (!isThenable(done)) settle(batch, true, place);
      else
        done.then(
          () => settle(batch, true, place),
          (cause: unknown) => {
            report(batchError('MW_RUNTIME_BUS_NOT_DURABLE', partition, items, cause), partition, items);
            settle(batch, false, place);
          },
        );
      queueMicrotask(pump);
    });
  };

  const lane: JetStreamLane<T> = {
    partition,
    held: new Set(),
    local: 0,
    handedBack: new Set(),
    highestSeen: 0,
    state: 'binding',
    messages: undefined,
    arrive(msg) {
      if (stopped || retiring) return void msg.nak();
      if (msg.seq > lane.highestSeen) lane.highestSeen = msg.seq;
      lane.handedBack.delete(msg.seq);
      const items = decode<T>(msg, partition, report);
      if (items === undefined) return settled();
      lane.held.add(msg);
      arrivals.push({ msg, items });
      if (!busy) {
        busy = true;
        queueMicrotask(pump);
      }
    },
    arriveLocal(item) {
      if (stopped) return deps.reportDropped([item]);
      // Not reached (the bus gives a lane being given up nothing); behind what it has, if it were.
      if (retiring && !done) return void leaving.queued.push(item);
      if (retiring) return deps.republish([item]);
      lane.local++;
      arrivals.push({ msg: undefined, items: [item] });
      if (!busy) {
        busy = true;
        queueMicrotask(pump);
      }
    },
    extend() {
      if (!stopped) for (const msg of lane.held) msg.working();
    },
    retire() {
      if (stopped) {
        finishRetiring([]); // nothing more will be acked here
        return Promise.resolve();
      }
      if (!retiring) {
        retiring = true;
        lane.handedBack.clear();
        giveBackQueued();
      }
      return new Promise<void>((resolve) => {
        retired = resolve;
        settle([], true);
      });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      lane.state = 'gone';
      if (retiring) finishRetiring([]); // what it had is reported dropped below, as the bus stopped
      retired?.(); // nothing more will be acked here
      lane.handedBack.clear(); // for the partition's next consumer
      giveBackQueued(); // now rather than after the ack wait
    },
  };
  return lane;
}

/** Runs the handler on a batch; `then` gets its receipt, or nothing once a throw was reported. */
function runHandler<T>(
  deps: LaneDeps<T>,
  items: readonly T[],
  then: (receipt: void | BusReceipt) => void,
): void {
  const { partition, report } = deps;
  const failed = (cause: unknown) =>
    report(batchError('MW_RUNTIME_BUS_HANDLER', partition, items, cause), partition, items);
  let result: ReturnType<BusHandler<T>>;
  try {
    result = deps.handling.run(true, deps.handler, items, partition);
  } catch (cause) {
    failed(cause);
    result = undefined;
  }
  if (isThenable(result))
    result.then(then, (cause: unknown) => {
      failed(cause);
      then(undefined);
    });
  else then(result);
}

/** The items of a batch, in the order they arrived. */
function itemsOf<T>(batch: readonly Queued<T>[]): T[] {
  const items: T[] = [];
  for (const queued of batch) for (const item of queued.items) items.push(item);
  return items;
}

/**
 * The messages that arrived and wait for the handler, in order; taken a batch at a time: whole
 * messages, up to `maxBatch` items (or one message that holds more).
 */
function createArrivals<T>(maxBatch: number) {
  let queue: Queued<T>[] = [];
  let head = 0;
  /** Items in the queue from `head` on. */
  let waiting = 0;
  return {
    push(queued: Queued<T>): void {
      queue.push(queued);
      waiting += queued.items.length;
    },
    take(): Queued<T>[] | undefined {
      if (head === queue.length) return undefined;
      if (head === 0 && waiting <= maxBatch) {
        const batch = queue;
        queue = [];
        waiting = 0;
        return batch;
      }
      let end = head;
      let count = 0;
      while (end < queue.length && (end === head || count + queue[end]!.items.length <= maxBatch)) {
        count += queue[end]!.items.length;
        end++;
      }
      const batch = queue.slice(head, end);
      waiting -= count;
      head = end;
      if (head === queue.length) {
        queue = [];
        head = 0;
      }
      return batch;
    },
    takeRest(): Queued<T>[] {
      const rest = queue.slice(head);
      queue = [];
      head = 0;
      waiting = 0;
      return rest;
    },
  };
}

/**
 * A message's items, or nothing if it cannot be read (not JSON, or not the items its header says):
 * then it is terminated (never ours) and reported.
 */
function decode<T>(msg: JsMsg, partition: number, report: LaneDeps<T>['report']): T[] | undefined {
  try {
    return unpackItems<T>(msg);
  } catch (cause) {
    msg.term('unreadable');
    const error = runtimeError(
      'MW_RUNTIME_BUS_DECODE',
      { partition, seq: msg.seq, cause: errorText(cause) },
      { cause },
    );
    report(error, partition, []);
    return undefined;
  }
}

function batchError(
  code: 'MW_RUNTIME_BUS_HANDLER' | 'MW_RUNTIME_BUS_NOT_DURABLE',
  partition: number,
  items: readonly unknown[],
  cause: unknown,
): Error {
  return runtimeError(code, { partition, count: items.length, cause: errorText(cause) }, { cause });
}
