// The JetStream bus's `local` option: an item for a partition the bus consumes is handed to its lane
// in process, once everything the bus published there through the stream has arrived. Real NATS
// (jetstream-test-kit.ts); the rest of the bus is in jetstream-bus.test.ts, and the conformance suite
// runs with `local` there too.
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import type { BusValue } from './bus.js';
import {
  collector,
  deferred,
  everyItem,
  freshMesh,
  natsAdmin,
  numbered,
  openBus,
  SERVERS,
  streamed,
} from './jetstream-test-kit.js';

const nats = natsAdmin();

describe('JetStream bus, local', () => {
  it('hands a partition it consumes its own items in process, in order, without the broker', async () => {
    const mesh = freshMesh(nats.connection());
    const { reported, onError } = collector();
    await using bus = await openBus(mesh, { onError, local: everyItem });
    const seen: BusValue[] = [];
    bus.subscribe(1, (items) => {
      seen.push(...items);
    });
    await bus.publish(1, { n: 0 }); // the lane is still binding: through the stream
    await bus.drain();
    for (const item of numbered(1, 6)) await bus.publish(1, item);
    await bus.drain();
    expect(seen).toEqual(numbered(0, 6));
    expect(await streamed(nats.connection(), mesh)).toBe(1);
    expect(reported).toEqual([]);
  });

  it('sends the items the option does not name through the stream, live lane or not', async () => {
    const mesh = freshMesh(nats.connection());
    const odd = (item: BusValue) => (item as { n: number }).n % 2 === 1;
    await using bus = await openBus(mesh, { onError: () => {}, local: odd });
    const seen: BusValue[] = [];
    bus.subscribe(2, (items) => {
      seen.push(...items);
    });
    await bus.publish(2, { n: 0 });
    await bus.drain();
    for (const item of numbered(1, 5)) {
      await bus.publish(2, item);
      await bus.drain(); // each in turn: an odd one stays in process only once the even one arrived
    }
    expect(seen).toEqual(numbered(0, 5));
    expect(await streamed(nats.connection(), mesh)).toBe(3); // 0, 2 and 4
  });

  it('queues its own items behind what it published through the stream before it consumed the partition', async () => {
    const mesh = freshMesh(nats.connection());
    await using bus = await openBus(mesh, { onError: () => {}, local: everyItem });
    for (const item of numbered(0, 100)) await bus.publish(4, item);
    const seen: BusValue[] = [];
    const first = deferred();
    bus.subscribe(4, async (items) => {
      seen.push(...items);
      first.resolve();
      await new Promise((next) => setImmediate(next));
    });
    await first.promise;
    for (const item of numbered(100, 110)) await bus.publish(4, item);
    await bus.drain();
    expect(seen).toEqual(numbered(0, 110));
  });

  it('publishes an item that did not become durable to the stream, where it comes back', async () => {
    const mesh = freshMesh(nats.connection());
    const { reported, onError } = collector();
    await using bus = await openBus(mesh, { onError, local: everyItem, redeliverDelayMs: 100 });
    const seen: BusValue[] = [];
    bus.subscribe(0, (items) => {
      seen.push(...items);
      return { done: seen.length === 2 ? Promise.reject(new Error('not durable')) : Promise.resolve() };
    });
    await bus.publish(0, { n: 0 });
    await bus.drain();
    await bus.publish(0, { n: 1 }); // in process
    await bus.drain();
    expect(seen).toEqual([{ n: 0 }, { n: 1 }, { n: 1 }]);
    expect(reported).toEqual([{ code: 'MW_RUNTIME_BUS_NOT_DURABLE', partition: 0, items: [{ n: 1 }] }]);
    expect(await streamed(nats.connection(), mesh)).toBe(2);
  });

  it('gives what waits in process to the stream when the partition is given up, for its next consumer', async () => {
    const mesh = freshMesh(nats.connection());
    const { reported, onError } = collector();
    await using bus = await openBus(mesh, { onError, local: everyItem });
    const first: BusValue[] = [];
    const started = deferred();
    const release = deferred();
    bus.subscribe(3, async (items) => {
      first.push(...items);
      if (first.length > 1) {
        started.resolve();
        await release.promise;
      }
    });
    await bus.publish(3, { n: 0 });
    await bus.drain();
    await bus.publish(3, { n: 1 }); // in the handler until released
    await started.promise;
    await bus.publish(3, { n: 2 }); // queued behind it
    await bus.publish(3, { n: 3 });
    const giving = bus.unsubscribe(3);
    release.resolve();
    await giving;
    expect(first).toEqual(numbered(0, 2));
    const second: BusValue[] = [];
    bus.subscribe(3, (items) => {
      second.push(...items);
    });
    await bus.drain();
    expect(second).toEqual(numbered(2, 4));
    expect(await streamed(nats.connection(), mesh)).toBe(3);
    expect(reported).toEqual([]);
  });

  it('gives a partition up in order: a batch in flight that was not durable, then what queued behind it', async () => {
    const mesh = freshMesh(nats.connection());
    const { reported, onError } = collector();
    await using bus = await openBus(mesh, { onError, local: everyItem });
    const started = deferred();
    const release = deferred();
    let calls = 0;
    bus.subscribe(6, async () => {
      if (++calls !== 2) return;
      started.resolve();
      await release.promise;
      return { done: Promise.reject(new Error('fenced')) }; // as after a lost lease
    });
    await bus.publish(6, { n: 0 });
    await bus.drain();
    await bus.publish(6, { n: 1 });
    await started.promise;
    await bus.publish(6, { n: 2 });
    await bus.publish(6, { n: 3 });
    let drained = false;
    const draining = bus.drain().then(() => {
      drained = true;
    });
    const giving = bus.unsubscribe(6);
    await bus.publish(6, { n: 4 }); // while the lane is being given up: behind what it holds
    await new Promise((next) => setTimeout(next, 100));
    expect(drained).toBe(false); // the batch in flight of the lane being given up is not settled
    release.resolve();
    await giving;
    await bus.publish(6, { n: 5 }); // while those go to the stream: behind them
    const next: BusValue[] = [];
    bus.subscribe(6, (items) => {
      next.push(...items);
    });
    await draining;
    await bus.drain();
    expect(next).toEqual(numbered(1, 6));
    expect(reported.map((r) => r.code)).toEqual(['MW_RUNTIME_BUS_NOT_DURABLE']);
  });

  it('reports what waited in process as dropped when the connection is lost', async () => {
    const mesh = freshMesh(nats.connection());
    const { reported, onError } = collector();
    const connection = await connect({ servers: SERVERS });
    const bus = await openBus(mesh, { onError, local: everyItem, connection });
    const started = deferred();
    const release = deferred();
    let calls = 0;
    bus.subscribe(5, async () => {
      if (++calls === 2) {
        started.resolve();
        await release.promise;
      }
    });
    await bus.publish(5, { n: 0 });
    await bus.drain();
    await bus.publish(5, { n: 1 });
    await started.promise;
    await bus.publish(5, { n: 2 });
    await connection.close();
    await bus.closed;
    release.resolve();
    expect(reported).toEqual([{ code: 'MW_RUNTIME_BUS_LOCAL_DROPPED', partition: 5, items: [{ n: 2 }] }]);
  });
});
