/** What a publish resolves with: `'duplicate'` when the item was dropped as a resend (see `publish`). */
export type Published = undefined | 'duplicate';

/**
 * The bus: the seam through which work reaches a partition. Embedded mode runs the in-process adapter
 * (`in-process-bus.ts`); distributed mode runs the NATS JetStream adapter (`jetstream-bus.ts`), which
 * carries items on the subjects `mw.<mesh>.p.<partition>`, delivers at least once, and acks an item
 * once its handler says it is done with it (the item's decision is durable). Both adapters pass
 * `bus-conformance.ts`.
 *
 * Contract, for every adapter:
 * - Items of one partition reach its handler strictly in publish order, one batch at a time: the next
 *   batch starts only after the previous one's handler returned (or its promise settled). Partitions
 *   are independent (a slow handler on one does not hold back another).
 * - A handler that returns (or whose promise resolves) has handled its whole batch. With a receipt
 *   (`{ done }`), the batch is acked once `done` resolves, while the next batch already runs: that
 *   pipelines deciding with committing, as write-ahead needs the ack only once the decisions are
 *   durable. Without one, returning is the ack.
 * - A receipt whose `done` rejects says "not durable": a decision of the batch did not become
 *   durable. The bus reports it to `onError` with the batch (`MW_RUNTIME_BUS_NOT_DURABLE`); an
 *   adapter that can redeliver (JetStream) hands the batch back instead of acking it, and it comes
 *   again after a delay (after later batches, so order holds only between successes); drain and
 *   close wait for it. The in-process bus cannot redeliver: it reports and counts the batch handled
 *   (its senders heard of the failure already).
 * - A handler that throws (or rejects) does not crash the process and does not stop its partition: the
 *   bus reports the error with the batch to `onError` and goes on with the next batch. The batch counts
 *   as handled (acked): retries and dead letters are the handler's job (the runners own them), so a
 *   throw that reaches the bus is a bug, reported rather than redelivered forever.
 * - Items are plain JSON (see `BusValue`) so that an adapter may serialise them.
 */
export type Bus<T extends BusValue> = {
  /**
   * Accepts one item for a partition; resolves once the bus holds it (in process: queued; JetStream:
   * the stream's publish ack, or queued on the partition's lane when this bus consumes it and hands
   * its own items over in process, `local`). Rejects with `MW_RUNTIME_BUS_CLOSED` once `close` was called, except
   * for a follow-up while close drains: an item published by one of this bus's handlers (from its
   * async context: its own code and what it awaits or chains, as AsyncLocalStorage sees it) belongs
   * to work in flight, and is accepted and handled before close completes. Once closed, every
   * publish is refused. Resolves with `'duplicate'` when the bus dropped the item as a resend of one
   * it holds already (JetStream: its `Nats-Msg-Id` was stored within the duplicate window): this
   * copy is never delivered, so whatever answers the first one is all there will be.
   */
  publish(partition: number, item: T): Promise<Published>;
  /**
   * Makes `handler` the one consumer of a partition; items published before it subscribed wait for it.
   * Throws `MW_RUNTIME_BUS_SUBSCRIBED` if the partition already has one, `MW_RUNTIME_BUS_CLOSED` after
   * close. `takeOver`: the partition's previous subscriber, wherever it ran, is gone for good (its
   * owner lost it and is fenced), so what it held and never acked is handed to this one at once and
   * in order, rather than after an ack wait (JetStream; the in-process bus holds nothing elsewhere).
   */
  subscribe(partition: number, handler: BusHandler<T>, opts?: { readonly takeOver?: boolean }): void;
  /**
   * Stops being a partition's consumer (its owner lost it): hands out no more batches, gives back
   * what waits (JetStream: `nak`, for the partition's next consumer), and resolves once the batches
   * in flight were acked (their receipts settled). The partition may be subscribed again later, here
   * or elsewhere. Unsubscribing a partition without a subscriber does nothing.
   */
  unsubscribe(partition: number): Promise<void>;
  /**
   * Resolves once every item accepted so far has been handled and acked, and every item those handlers published
   * meanwhile (follow-ups): the bus is quiescent. Items of a partition nobody subscribed to keep it
   * waiting until someone does.
   */
  drain(): Promise<void>;
  /**
   * Stops intake from outside, lets every accepted item of a subscribed partition be handled, and
   * the follow-ups their handlers publish meanwhile, then resolves `closed`. Idempotent. Items of a partition nobody subscribed to are not handled: JetStream keeps
   * them for the partition's next owner; the in-process bus reports them to `onError`
   * (`MW_RUNTIME_BUS_UNHANDLED`), so nothing vanishes unsaid.
   */
  close(): Promise<void>;
  /** Resolves when closed: with nothing, or with the error that ended the bus. Never rejects. */
  readonly closed: Promise<void | Error>;
  [Symbol.asyncDispose](): Promise<void>;
};

/**
 * Handles a batch of one partition's items, in publish order (a batch holds one item or more). Returns
 * when they are handled, or a promise that resolves when they are; with a receipt, the batch is acked
 * when the receipt's `done` resolves (a rejection means not durable: see the contract on `Bus`).
 */
export type BusHandler<T> = (
  items: readonly T[],
  partition: number,
) => void | BusReceipt | Promise<void | BusReceipt>;

/**
 * A batch handled, to be acked later: once `done` resolves (say, once its decisions are durable);
 * `done` rejects when one of them did not become durable.
 */
export type BusReceipt = { readonly done: Promise<unknown> };

/** What every adapter's factory takes. */
export type BusOptions<T> = {
  /**
   * Told of a batch whose handler threw or rejected (`MW_RUNTIME_BUS_HANDLER`, with the thrown value
   * as its cause), of one whose receipt rejected (`MW_RUNTIME_BUS_NOT_DURABLE`, see the contract),
   * and, on close, of items no one subscribed to (`MW_RUNTIME_BUS_UNHANDLED`); JetStream also of
   * items it held in process when it stopped (`MW_RUNTIME_BUS_LOCAL_DROPPED`), and of publishes it
   * makes on its own that fail. Must not throw (a throw here is swallowed, to keep the partition
   * going).
   */
  readonly onError: (
    error: Error,
    failed: { readonly partition: number; readonly items: readonly T[] },
  ) => void;
};

/**
 * What a bus may carry: plain JSON, as `JSON.stringify` writes and `JSON.parse` reads it back. A
 * property that is `undefined` is left out (as JSON.stringify does), so envelopes with optional
 * attributes fit. No functions, class instances, Maps, Dates or bigints.
 */
export type BusValue =
  | string
  | number
  | boolean
  | null
  | readonly BusValue[]
  | { readonly [key: string]: BusValue | undefined };
