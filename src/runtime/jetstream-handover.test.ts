// A partition's hand-off on the JetStream bus (jetstream-handover.ts): what its lane had in process
// goes to the stream first, packed, and what is published for the partition meanwhile, in process or
// not, waits behind it. Real NATS (jetstream-test-kit.ts).
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import type { Bus, BusValue } from './bus.js';
import { createHandoverQueue } from './jetstream-handover.js';
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
const PARTITION = 7;
/** Odd items stay in process (as a handler's emissions); even ones go through the stream (as roots). */
const odd = (item: BusValue) => (item as { n: number }).n % 2 === 1;
const pause = (ms: number) => new Promise((next) => setTimeout(next, ms));

/**
 * The partition's lane with item 1 (in process) in its handler until `release`, and `queued` more in
 * process behind it (3, 5, … with `odd`; 2, 3, … with every item local). Its batch with item 1 is
 * not durable when `fenced` (as after a lost lease): item 1 goes back too.
 */
async function busyLane(bus: Bus<BusValue>, opts: { fenced: boolean; queued: number[] }) {
  const started = deferred();
  const release = deferred();
  let calls = 0;
  bus.subscribe(PARTITION, async () => {
    if (++calls !== 2) return;
    started.resolve();
    await release.promise;
    return opts.fenced ? { done: Promise.reject(new Error('fenced')) } : undefined;
  });
  await bus.publish(PARTITION, { n: 0 }); // through the stream: the lane has caught up after it
  await bus.drain();
  await bus.publish(PARTITION, { n: 1 });
  await started.promise;
  for (const n of opts.queued) await bus.publish(PARTITION, { n });
  return release;
}

/** What a next subscriber of the partition is handed, once the bus is quiet. */
async function nextOwnerGets(bus: Bus<BusValue>): Promise<BusValue[]> {
  const next: BusValue[] = [];
  bus.subscribe(PARTITION, (items) => {
    next.push(...items);
  });
  await bus.drain();
  return next;
}

describe('JetStream bus, a partition handed over', () => {
  it('keeps what is published once the partition is given up behind what its lane had in process, roots too', async () => {
    const mesh = freshMesh(nats.connection());
    const { reported, onError } = collector();
    await using bus = await openBus(mesh, { onError, local: odd });
    const release = await busyLane(bus, { fenced: true, queued: [3] });
    const giving = bus.unsubscribe(PARTITION);
    // A root waits behind 1 and 3, and its publish resolves once the stream stored it.
    let stored = false;
    const root = bus.publish(PARTITION, { n: 4 }).then(() => {
      stored = true;
    });
    await pause(100);
    expect(stored).toBe(false);
    release.resolve();
    await giving;
    await root;
    await bus.publish(PARTITION, { n: 5 });
    await bus.publish(PARTITION, { n: 6 });
    expect(await nextOwnerGets(bus)).toEqual([{ n: 1 }, { n: 3 }, { n: 4 }, { n: 5 }, { n: 6 }]);
    expect(reported.map((r) => r.code)).toEqual(['MW_RUNTIME_BUS_NOT_DURABLE']);
  });

  it('keeps the first hand-off’s items first when the partition comes back and goes again meanwhile', async () => {
    const mesh = freshMesh(nats.connection());
    await using bus = await openBus(mesh, { onError: () => {}, local: odd });
    const release = await busyLane(bus, { fenced: true, queued: [3] });
    const first = bus.unsubscribe(PARTITION);
    let stored = false;
    const root = bus.publish(PARTITION, { n: 4 }).then(() => {
      stored = true;
    });
    bus.subscribe(PARTITION, () => {}); // back, with nothing in process…
    await bus.unsubscribe(PARTITION); // …and given up again
    await pause(100);
    expect(stored).toBe(false);
    release.resolve();
    await first;
    await root;
    expect(await nextOwnerGets(bus)).toEqual([{ n: 1 }, { n: 3 }, { n: 4 }]);
  });

  it('holds nothing back when the lane given up had nothing in process', async () => {
    const mesh = freshMesh(nats.connection());
    await using bus = await openBus(mesh, { onError: () => {}, local: odd });
    const started = deferred();
    const release = deferred();
    bus.subscribe(PARTITION, async () => {
      started.resolve();
      await release.promise;
    });
    await bus.publish(PARTITION, { n: 0 }); // through the stream, in the handler until released
    await started.promise;
    const giving = bus.unsubscribe(PARTITION);
    await bus.publish(PARTITION, { n: 2 }); // stored at once, while the lane still finishes 0
    release.resolve();
    await giving;
    expect(await nextOwnerGets(bus)).toEqual([{ n: 2 }]);
  });

  it('hands what a lane had in process to the stream packed, as many a message as the bus packs', async () => {
    const mesh = freshMesh(nats.connection());
    const { reported, onError } = collector();
    await using bus = await openBus(mesh, { onError, local: everyItem, maxItemsPerMessage: 16 });
    const release = await busyLane(bus, { fenced: false, queued: numbered(2, 42).map((i) => i.n) });
    const giving = bus.unsubscribe(PARTITION);
    release.resolve();
    await giving;
    expect(await nextOwnerGets(bus)).toEqual(numbered(2, 42));
    expect(await streamed(nats.connection(), mesh)).toBe(1 + 3); // 0, then 40 items in messages of 16, 16 and 8
    expect(reported).toEqual([]);
  });

  it('hands over a lane that had 150,000 items in process, all of them, in order', async () => {
    const mesh = freshMesh(nats.connection());
    const { reported, onError } = collector();
    await using bus = await openBus(mesh, { onError, local: everyItem, maxItemsPerMessage: 64 });
    const count = 150_000;
    // More than a call's arguments can hold: nothing spreads them.
    const queued = Array.from({ length: count }, (_, i) => i + 2);
    const release = await busyLane(bus, { fenced: false, queued });
    const giving = bus.unsubscribe(PARTITION);
    release.resolve();
    await giving;
    const next = await nextOwnerGets(bus);
    expect(next.length).toBe(count);
    expect(next.every((item, i) => (item as { n: number }).n === i + 2)).toBe(true);
    expect(reported).toEqual([]);
  }, 60_000);

  it('gives back a hand-off’s batches in flight in the order they were handed out, not the order they failed', async () => {
    const mesh = freshMesh(nats.connection());
    await using bus = await openBus(mesh, { onError: () => {}, local: odd });
    const receipts = [deferred(), deferred()];
    const called = [deferred(), deferred()];
    let calls = 0;
    bus.subscribe(PARTITION, (items) => {
      if ((items[0] as { n: number }).n === 0) return;
      const i = calls++;
      called[i]!.resolve();
      return { done: receipts[i]!.promise.then(() => Promise.reject(new Error('fenced'))) };
    });
    await bus.publish(PARTITION, { n: 0 });
    await bus.drain();
    await bus.publish(PARTITION, { n: 1 }); // in process: the first batch in flight
    await called[0]!.promise;
    await bus.publish(PARTITION, { n: 3 }); // the second
    await called[1]!.promise;
    const giving = bus.unsubscribe(PARTITION);
    receipts[1]!.resolve(); // the second fails first
    await pause(20);
    receipts[0]!.resolve();
    await giving;
    expect(await nextOwnerGets(bus)).toEqual([{ n: 1 }, { n: 3 }]);
  });

  it('takes an item in process too big for the broker out alone, at once, and hands the rest over', async () => {
    const mesh = freshMesh(nats.connection());
    const { reported, onError } = collector();
    await using bus = await openBus(mesh, { onError, local: odd });
    const big = { n: 3, pad: 'x'.repeat(2 * 1_048_576) }; // more than the broker's 1 MiB
    const release = await busyLane(bus, { fenced: false, queued: [] });
    await bus.publish(PARTITION, big);
    await bus.publish(PARTITION, { n: 5 });
    const giving = bus.unsubscribe(PARTITION);
    const root = bus.publish(PARTITION, { n: 6 });
    release.resolve();
    await giving;
    await root; // not held up behind the big one for its 30 s of retries
    expect(await nextOwnerGets(bus)).toEqual([{ n: 5 }, { n: 6 }]);
    expect(reported.map((r) => [r.code, (r.items[0] as { n: number }).n])).toEqual([
      ['MW_RUNTIME_BUS_PUBLISH', 3],
    ]);
  }, 20_000);

  it('refuses a waiting root’s publish and reports the items in process dropped when the connection is lost', async () => {
    const mesh = freshMesh(nats.connection());
    const { reported, onError } = collector();
    const connection = await connect({ servers: SERVERS });
    const bus = await openBus(mesh, { onError, local: odd, connection });
    const release = await busyLane(bus, { fenced: false, queued: [3] });
    void bus.unsubscribe(PARTITION);
    const root = bus.publish(PARTITION, { n: 4 }).then(
      () => 'stored',
      (err: { code?: string }) => err.code,
    );
    await bus.publish(PARTITION, { n: 5 });
    await connection.close();
    await bus.closed;
    release.resolve();
    expect(await root).toBe('MW_RUNTIME_BUS_CLOSED');
    await pause(50);
    const dropped = reported.filter((r) => r.code === 'MW_RUNTIME_BUS_LOCAL_DROPPED').flatMap((r) => r.items);
    expect(dropped).toEqual(expect.arrayContaining([{ n: 3 }, { n: 5 }]));
  });
});

describe('the hand-off queue', () => {
  it('leaves nothing waiting when a hold is released twice', () => {
    const queue = createHandoverQueue<BusValue>({
      encode: (_p, item) => ({ data: JSON.stringify(item), id: undefined }),
      send: async () => undefined,
      maxItems: 64,
      maxBytes: 65_536,
      maxPayload: () => 1_048_576,
      report: () => {},
      isShut: () => false,
      republishing: () => {},
    });
    const hold = queue.hold(PARTITION);
    expect(queue.waiting(PARTITION)).toBe(true);
    queue.release(PARTITION, hold, []);
    queue.release(PARTITION, hold, []);
    // Nothing waits, so what is published next for the partition goes as usual, not behind a queue.
    expect(queue.waiting(PARTITION)).toBe(false);
  });
});
