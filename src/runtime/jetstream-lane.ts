import type { AsyncLocalStorage } from 'node:async_hooks';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { errorText } from '../envelope/index.js';
import type { BusHandler, BusReceipt, BusValue } from './bus.js';
import { runtimeError } from './errors.js';

/**
 * One subscribed partition of the JetStream bus: the messages its pull consumer delivered and this
 * process has not acked yet (`held`: queued, in the handler, or waiting for a receipt), and the pump
 * that hands them to the handler one batch at a time, in delivery order.
 */
export type JetStreamLane = {
  readonly partition: number;
  /** Delivered and not yet acked (or termed, or handed back): drain waits for it to empty. */
  readonly held: Set<JsMsg>;
  /** Stream sequences handed back (`nak`) as not durable, due back here: drain waits for them. */
  readonly handedBack: Set<number>;
  /** The highest stream sequence delivered here: every item this bus published up to it arrived. */
  highestSeen: number;
  /** Binding its consumer, consuming, or gone (its consumer failed, or the lane stopped). */
  state: 'binding' | 'live' | 'gone';
  messages: ConsumerMessages | undefined;
  /** Takes one delivered message (the consumer's callback). */
  arrive(msg: JsMsg): void;
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
};

type Queued<T> = { readonly msg: JsMsg; readonly item: T };

export function createJetStreamLane<T extends BusValue>(deps: LaneDeps<T>): JetStreamLane {
  const { partition, handler, maxBatch, handling, report, settled, redeliverDelayMs } = deps;
  let queue: Queued<T>[] = [];
  let head = 0;
  let busy = false;
  let stopped = false;
  let retiring = false;
  let retired: (() => void) | undefined;
  const released = () => {
    if (retired !== undefined && lane.held.size === 0) retired();
    settled();
  };

  const failed = (batch: readonly T[], cause: unknown) =>
    report(
      runtimeError(
        'MW_RUNTIME_BUS_HANDLER',
        { partition, count: batch.length, cause: errorText(cause) },
        { cause },
      ),
      partition,
      batch,
    );

  // Once stopped (the bus closed or lost its connection), nothing is acked: what was not acked yet
  // is redelivered to the partition's next consumer, as after a crash.
  const ack = (batch: readonly Queued<T>[]) => {
    if (stopped) return;
    for (const { msg } of batch) {
      msg.ack();
      lane.held.delete(msg);
    }
    released();
  };

  // A receipt that rejects: the batch's decisions are not all durable, so it must not be acked
  // (acked is gone, in a work queue). Handed back, it is redelivered after the delay.
  const handBack = (batch: readonly Queued<T>[], items: readonly T[], cause: unknown) => {
    report(
      runtimeError(
        'MW_RUNTIME_BUS_NOT_DURABLE',
        { partition, count: items.length, cause: errorText(cause) },
        { cause },
      ),
      partition,
      items,
    );
    if (stopped) return; // redelivered to the next consumer after the ack wait
    for (const { msg } of batch) {
      msg.nak(retiring ? undefined : redeliverDelayMs);
      lane.held.delete(msg);
      if (!retiring) lane.handedBack.add(msg.seq); // due back here; once retiring, for the next consumer
    }
    released();
  };

  const take = (): Queued<T>[] | undefined => {
    const left = queue.length - head;
    if (left === 0) return undefined;
    if (head === 0 && left <= maxBatch) {
      const batch = queue;
      queue = [];
      return batch;
    }
    const end = Math.min(queue.length, head + maxBatch);
    const batch = queue.slice(head, end);
    head = end;
    if (head === queue.length) {
      queue = [];
      head = 0;
    }
    return batch;
  };

  const pump = (): void => {
    const batch = stopped || retiring ? undefined : take();
    if (batch === undefined) {
      busy = false;
      return;
    }
    const items = batch.map((queued) => queued.item);
    let result: ReturnType<BusHandler<T>>;
    try {
      result = handling.run(true, handler, items, partition);
    } catch (cause) {
      failed(items, cause);
      result = undefined;
    }
    if (isPromise(result)) {
      result.then(
        (receipt) => next(batch, items, receipt),
        (cause: unknown) => {
          failed(items, cause);
          next(batch, items, undefined);
        },
      );
    } else next(batch, items, result);
  };

  // A receipt's batch is acked once `done` resolves, the next batch need not wait for it; a
  // rejected `done` hands it back; a handler's throw is reported and the batch acked (the contract).
  const next = (batch: readonly Queued<T>[], items: readonly T[], receipt: void | BusReceipt) => {
    const done = (receipt as BusReceipt | null | undefined)?.done;
    if (!isPromise(done)) ack(batch);
    else
      done.then(
        () => ack(batch),
        (cause: unknown) => handBack(batch, items, cause),
      );
    queueMicrotask(pump);
  };

  const lane: JetStreamLane = {
    partition,
    held: new Set(),
    handedBack: new Set(),
    highestSeen: 0,
    state: 'binding',
    messages: undefined,
    arrive(msg) {
      if (stopped || retiring) {
        msg.nak();
        return;
      }
      if (msg.seq > lane.highestSeen) lane.highestSeen = msg.seq;
      lane.handedBack.delete(msg.seq);
      let item: T;
      try {
        item = JSON.parse(msg.string()) as T;
      } catch (cause) {
        // Not ours to handle and never will be: terminated, so it is not redelivered forever.
        msg.term('not JSON');
        report(
          runtimeError(
            'MW_RUNTIME_BUS_DECODE',
            { partition, seq: msg.seq, cause: errorText(cause) },
            { cause },
          ),
          partition,
          [],
        );
        settled();
        return;
      }
      lane.held.add(msg);
      queue.push({ msg, item });
      if (!busy) {
        busy = true;
        queueMicrotask(pump);
      }
    },
    extend() {
      if (stopped) return;
      for (const msg of lane.held) msg.working();
    },
    retire() {
      if (!retiring) {
        retiring = true;
        lane.handedBack.clear();
        for (let i = head; i < queue.length; i++) {
          queue[i]!.msg.nak();
          lane.held.delete(queue[i]!.msg);
        }
        queue = [];
        head = 0;
      }
      return new Promise<void>((resolve) => {
        retired = resolve;
        released();
      });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      lane.state = 'gone';
      retired?.(); // nothing more will be acked here
      lane.handedBack.clear(); // for the partition's next consumer
      // Queued and not handled: handed back now rather than after the ack wait.
      for (let i = head; i < queue.length; i++) queue[i]!.msg.nak();
      queue = [];
      head = 0;
    },
  };
  return lane;
}

// A thenable counts as a promise: a handler's promise may come from another realm or library.
function isPromise<R>(value: R | Promise<R>): value is Promise<R> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}
