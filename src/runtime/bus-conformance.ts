// For tests only (excluded from the build, as test-kit.ts files are): the tests every Bus adapter
// passes. An adapter's test file calls describeBusConformance with a factory of fresh buses; the
// in-process bus runs it in in-process-bus.test.ts, the JetStream bus in jetstream-bus.test.ts.
import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../envelope/index.js';
import type { Bus, BusOptions, BusValue } from './bus.js';

export type BusFactory = (options: BusOptions<BusValue>) => Bus<BusValue> | Promise<Bus<BusValue>>;

type Reported = { readonly code: string | undefined; readonly partition: number; readonly items: BusValue[] };

/** A fresh bus per test, whose `onError` reports are collected; closed after the test. */
async function open(openBus: BusFactory) {
  const reported: Reported[] = [];
  const bus = await openBus({
    onError: (error, failed) =>
      reported.push({
        code: isMeshwardenError(error) ? error.code : undefined,
        partition: failed.partition,
        items: [...failed.items],
      }),
  });
  return { bus, reported };
}

function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets pending callbacks run (several event-loop turns), without reading the clock. */
async function turns(count = 5) {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return isMeshwardenError(err) ? err.code : 'not a MeshwardenError';
  }
}

function thrownCode(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isMeshwardenError(err) ? err.code : 'not a MeshwardenError';
  }
}

const numbered = (count: number, from = 0) => Array.from({ length: count }, (_, i) => ({ n: from + i }));

/** What an adapter can do beyond the common contract. */
export type BusSupports = {
  /** Hands a batch whose receipt rejected back for redelivery (JetStream), rather than dropping it. */
  readonly redelivery: boolean;
};

export function describeBusConformance(
  name: string,
  openBus: BusFactory,
  supports: BusSupports = { redelivery: false },
): void {
  describe(`Bus conformance: ${name}`, () => {
    it('hands one partition its items in publish order, one batch at a time', async () => {
      const { bus, reported } = await open(openBus);
      await using _ = bus;
      const seen: BusValue[] = [];
      let running = 0;
      let overlapped = false;
      bus.subscribe(0, async (items) => {
        overlapped ||= running > 0;
        running++;
        await turns(1);
        seen.push(...items);
        running--;
      });
      const items = numbered(3_000);
      await Promise.all(items.map((item) => bus.publish(0, item)));
      await bus.drain();
      expect(seen).toEqual(items);
      expect(overlapped).toBe(false);
      expect(reported).toEqual([]);
    });

    it('keeps each partition in order when publishes to several interleave', async () => {
      const { bus } = await open(openBus);
      await using _ = bus;
      const seen = new Map<number, BusValue[]>();
      for (const partition of [0, 1, 2]) {
        seen.set(partition, []);
        bus.subscribe(partition, (items, p) => {
          seen.get(p)!.push(...items);
        });
      }
      for (let i = 0; i < 900; i++) await bus.publish(i % 3, { n: i });
      await bus.drain();
      for (const partition of [0, 1, 2]) {
        expect(seen.get(partition)).toEqual(numbered(900).filter((item) => item.n % 3 === partition));
      }
    });

    it('runs the next batch while a receipt is pending, and drains only once it is acked', async () => {
      const { bus, reported } = await open(openBus);
      await using _ = bus;
      const acks = [deferred(), deferred()];
      const seen: BusValue[] = [];
      const arrived = [deferred(), deferred()];
      let batches = 0;
      bus.subscribe(0, (items) => {
        seen.push(...items);
        arrived[batches]!.resolve();
        return { done: acks[batches++]!.promise };
      });
      // Awaited rather than a few turns: an adapter over a network delivers a round trip later.
      await bus.publish(0, { n: 0 });
      await arrived[0]!.promise;
      await bus.publish(0, { n: 1 });
      await arrived[1]!.promise; // handled although the first batch is not acked yet
      expect(seen).toEqual(numbered(2));
      let drained = false;
      const draining = bus.drain().then(() => {
        drained = true;
      });
      acks[1]!.resolve();
      await turns();
      expect(drained).toBe(false); // the first batch is still unacked
      acks[0]!.resolve();
      await draining;
      expect(reported).toEqual([]);
    });

    it('reports a receipt that rejects (not durable), with its items, and redelivers it if it can', async () => {
      const { bus, reported } = await open(openBus);
      await using _ = bus;
      const seen: BusValue[] = [];
      bus.subscribe(0, (items) => {
        seen.push(...items);
        // Not durable the first time only.
        return { done: seen.length === 1 ? Promise.reject(new Error('not durable')) : Promise.resolve() };
      });
      await bus.publish(0, { n: 7 });
      await bus.drain();
      expect(seen).toEqual(supports.redelivery ? [{ n: 7 }, { n: 7 }] : [{ n: 7 }]);
      expect(reported).toEqual([{ code: 'MW_RUNTIME_BUS_NOT_DURABLE', partition: 0, items: [{ n: 7 }] }]);
    });

    it('unsubscribes a partition once its batch in flight is acked; the next subscriber gets the rest', async () => {
      const { bus, reported } = await open(openBus);
      await using _ = bus;
      const ack = deferred();
      const arrived = deferred();
      const first: BusValue[] = [];
      bus.subscribe(0, (items) => {
        first.push(...items);
        arrived.resolve();
        return { done: ack.promise };
      });
      await bus.publish(0, { n: 0 });
      await arrived.promise;
      let unsubscribed = false;
      const unsubscribing = bus.unsubscribe(0).then(() => {
        unsubscribed = true;
      });
      await turns();
      expect(unsubscribed).toBe(false); // its batch is not acked yet
      ack.resolve();
      await unsubscribing;
      for (const item of numbered(5, 1)) await bus.publish(0, item);
      await turns();
      expect(first).toEqual(numbered(1)); // nothing more after unsubscribe
      const second: BusValue[] = [];
      bus.subscribe(0, (items) => {
        second.push(...items);
      });
      await bus.drain();
      expect(second).toEqual(numbered(5, 1));
      expect(first).toEqual(numbered(1)); // acked before unsubscribe resolved: not redelivered
      await bus.unsubscribe(0);
      await bus.unsubscribe(0); // nothing to do
      expect(reported).toEqual([]);
    });

    it('holds back no partition behind a slow handler on another', async () => {
      const { bus } = await open(openBus);
      await using _ = bus;
      const release = deferred();
      const slowStarted = deferred();
      const fastDone = deferred();
      bus.subscribe(0, async () => {
        slowStarted.resolve();
        await release.promise;
      });
      const fast: BusValue[] = [];
      bus.subscribe(1, (items) => {
        fast.push(...items);
        if (fast.length === 3) fastDone.resolve();
      });
      await bus.publish(0, { n: 0 });
      await slowStarted.promise;
      for (const item of numbered(3)) await bus.publish(1, item);
      await fastDone.promise; // would never settle if partition 0's handler blocked partition 1
      expect(fast).toEqual(numbered(3));
      release.resolve();
      await bus.drain();
    });

    it('delivers items published before anyone subscribed, in order, once someone does', async () => {
      const { bus } = await open(openBus);
      await using _ = bus;
      const items = numbered(10);
      for (const item of items) await bus.publish(4, item);
      const seen: BusValue[] = [];
      bus.subscribe(4, (batch) => {
        seen.push(...batch);
      });
      await bus.drain();
      expect(seen).toEqual(items);
    });

    it('carries items as plain JSON: what arrives equals what was published', async () => {
      const { bus } = await open(openBus);
      await using _ = bus;
      const item = {
        kind: 'ingress',
        envelope: {
          id: '0190',
          subject: 'account:1',
          hop: 0,
          data: { amount: 25.5, tags: ['a', null, true] },
        },
      };
      const seen: BusValue[] = [];
      bus.subscribe(0, (batch) => {
        seen.push(...batch);
      });
      await bus.publish(0, item);
      await bus.drain();
      expect(seen).toEqual([item]);
    });

    it('drains: resolves only once everything published so far is handled', async () => {
      const { bus } = await open(openBus);
      await using _ = bus;
      await bus.drain(); // nothing published: resolves at once
      const release = deferred();
      const seen: BusValue[] = [];
      bus.subscribe(0, async (items) => {
        await release.promise;
        seen.push(...items);
      });
      for (const item of numbered(5)) await bus.publish(0, item);
      let drained = false;
      const draining = bus.drain().then(() => {
        drained = true;
      });
      await turns();
      expect(drained).toBe(false);
      release.resolve();
      await draining;
      expect(seen).toEqual(numbered(5));
    });

    it('drains follow-ups too: items a handler publishes while handling, on any partition', async () => {
      const { bus } = await open(openBus);
      await using _ = bus;
      const seen: BusValue[] = [];
      const hop = (partition: number) => async (items: readonly BusValue[]) => {
        for (const item of items) {
          seen.push(item);
          const n = typeof item === 'number' ? item : 0;
          if (n < 6) await bus.publish((partition + 1) % 2, n + 1);
        }
      };
      bus.subscribe(0, hop(0));
      bus.subscribe(1, hop(1));
      await bus.publish(0, 0);
      await bus.drain();
      expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
    });

    it('reports a handler that throws or rejects, with its items, and goes on with the next ones', async () => {
      const { bus, reported } = await open(openBus);
      await using _ = bus;
      const seen: BusValue[] = [];
      bus.subscribe(0, (items) => {
        for (const item of items) {
          if (item !== null && typeof item === 'object' && 'n' in item && item.n === 1)
            throw new Error('thrown');
        }
        seen.push(...items);
      });
      bus.subscribe(1, async (items) => {
        await turns(1);
        if (items.some((item) => JSON.stringify(item) === '{"n":1}')) throw new Error('rejected');
        seen.push(...items);
      });
      for (const partition of [0, 1]) {
        await bus.publish(partition, { n: 0 });
        await bus.drain(); // {n: 1} gets a batch of its own (a batch may hold several items)
        await bus.publish(partition, { n: 1 });
        await bus.drain();
        await bus.publish(partition, { n: 2 });
        await bus.drain();
      }
      expect(seen).toEqual([{ n: 0 }, { n: 2 }, { n: 0 }, { n: 2 }]);
      expect(reported).toEqual([
        { code: 'MW_RUNTIME_BUS_HANDLER', partition: 0, items: [{ n: 1 }] },
        { code: 'MW_RUNTIME_BUS_HANDLER', partition: 1, items: [{ n: 1 }] },
      ]);
    });

    it('closes: stops intake, lets accepted items be handled, then resolves closed; idempotent', async () => {
      const { bus } = await open(openBus);
      const release = deferred();
      const started = deferred();
      const seen: BusValue[] = [];
      bus.subscribe(0, async (items) => {
        started.resolve();
        await release.promise;
        seen.push(...items);
      });
      await bus.publish(0, { n: 0 });
      await started.promise;
      await bus.publish(0, { n: 1 }); // queued behind the running batch
      let isClosed = false;
      bus.closed.then(() => {
        isClosed = true;
      });
      const closing = bus.close();
      expect(await codeOf(bus.publish(0, { n: 2 }))).toBe('MW_RUNTIME_BUS_CLOSED');
      expect(thrownCode(() => bus.subscribe(1, () => {}))).toBe('MW_RUNTIME_BUS_CLOSED');
      await turns();
      expect(isClosed).toBe(false);
      release.resolve();
      await closing;
      await bus.close();
      await bus[Symbol.asyncDispose]();
      expect(await bus.closed).toBeUndefined();
      expect(seen).toEqual(numbered(2));
    });

    it('closes only after the follow-ups its handlers publish while it drains; refuses publishes from outside', async () => {
      const { bus, reported } = await open(openBus);
      const release = deferred();
      const started = deferred();
      const seen: BusValue[] = [];
      // Items ping-pong between partitions 0 and 1 up to 4; partition 0 waits before its first batch.
      const hop = (partition: number) => async (items: readonly BusValue[]) => {
        started.resolve();
        await release.promise;
        for (const item of items) {
          seen.push(item);
          const n = typeof item === 'number' ? item : 0;
          if (n < 4) await bus.publish((partition + 1) % 2, n + 1);
        }
      };
      bus.subscribe(0, hop(0));
      bus.subscribe(1, hop(1));
      await bus.publish(0, 0);
      await started.promise;
      const closing = bus.close();
      expect(await codeOf(bus.publish(0, 99))).toBe('MW_RUNTIME_BUS_CLOSED');
      release.resolve();
      await closing;
      expect(seen).toEqual([0, 1, 2, 3, 4]);
      expect(reported).toEqual([]);
      expect(await codeOf(bus.publish(1, 5))).toBe('MW_RUNTIME_BUS_CLOSED');
    });

    it('refuses a second subscriber on a partition, and a partition that is not a whole number from 0', async () => {
      const { bus } = await open(openBus);
      await using _ = bus;
      bus.subscribe(0, () => {});
      expect(thrownCode(() => bus.subscribe(0, () => {}))).toBe('MW_RUNTIME_BUS_SUBSCRIBED');
      expect(thrownCode(() => bus.subscribe(-1, () => {}))).toBe('MW_RUNTIME_BUS_PARTITION');
      expect(await codeOf(bus.publish(1.5, { n: 0 }))).toBe('MW_RUNTIME_BUS_PARTITION');
    });
  });
}
