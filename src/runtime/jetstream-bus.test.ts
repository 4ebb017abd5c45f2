// The JetStream bus against a real NATS server (jetstream-test-kit.ts); its in-process handover of a
// partition's own items (`local`) is in jetstream-local.test.ts.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isMeshwardenError } from '../envelope/index.js';
import type { Bus, BusValue } from './bus.js';
import { describeBusConformance } from './bus-conformance.js';
import { openJetStreamBus } from './jetstream-bus.js';
import { consumerNameOf, partitionSubject, streamNameOf } from './jetstream-names.js';
import {
  collector,
  deferred,
  everyItem,
  freshMesh as freshMeshOf,
  idOf,
  natsAdmin,
  type Options,
  openBus,
  SERVERS,
} from './jetstream-test-kit.js';
import { cuttableProxy } from './tcp-cut-test-kit.js';

const nats = natsAdmin();
const freshMesh = () => freshMeshOf(nats.connection());
const open = (mesh: string, options: Options): Promise<Bus<BusValue>> => openBus(mesh, options);

describeBusConformance('JetStream', (options) => open(freshMesh(), { redeliverDelayMs: 100, ...options }), {
  redelivery: true,
});
describeBusConformance(
  "JetStream, a subscribed partition's own items handed over in process (local)",
  (options) => open(freshMesh(), { redeliverDelayMs: 100, local: everyItem, ...options }),
  { redelivery: true },
);

describe('JetStream bus', () => {
  it('drops a resend with the same id (Nats-Msg-Id) within the duplicate window', async () => {
    const mesh = freshMesh();
    await using bus = await open(mesh, { onError: () => {}, idOf });
    const seen: BusValue[] = [];
    bus.subscribe(0, (items) => {
      seen.push(...items);
    });
    expect(await bus.publish(0, { id: 'a', n: 1 })).toBeUndefined();
    // A resend, say after a lost publish ack: its publisher is told that it was dropped.
    expect(await bus.publish(0, { id: 'a', n: 1 })).toBe('duplicate');
    expect(await bus.publish(0, { id: 'b', n: 2 })).toBeUndefined();
    await bus.drain();
    expect(seen).toEqual([
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
    ]);
  });

  it('redelivers what an owner whose connection dropped never acked to the partition’s next subscriber, after ack wait', async () => {
    const mesh = freshMesh();
    // The first owner: its receipt never settles, then its connection drops (as a process dies).
    const crashing = await connect({ servers: SERVERS });
    const first = await open(mesh, { onError: () => {}, connection: crashing, ackWaitMs: 1_000 });
    const received = deferred<readonly BusValue[]>();
    first.subscribe(2, (items) => {
      received.resolve(items);
      return { done: new Promise(() => {}) };
    });
    await first.publish(2, { n: 1 });
    expect(await received.promise).toEqual([{ n: 1 }]);
    await crashing.close();
    const ended = await first.closed;
    expect(isMeshwardenError(ended) ? ended.code : ended).toBe('MW_RUNTIME_BUS_CONNECTION');
    expect(await codeOf(first.publish(2, { n: 2 }))).toBe('MW_RUNTIME_BUS_CLOSED');

    await using next = await open(mesh, { onError: () => {}, ackWaitMs: 1_000 });
    const redelivered = deferred<readonly BusValue[]>();
    next.subscribe(2, (items) => {
      redelivered.resolve(items);
    });
    expect(await redelivered.promise).toEqual([{ n: 1 }]);
    await next.drain();
  });

  it('hands a taking-over subscriber what the fenced owner held at once and in order, not after the ack wait', async () => {
    const mesh = freshMesh();
    // An ack wait far beyond the test's timeout: only a take-over can deliver {n: 1} in time.
    const crashing = await connect({ servers: SERVERS });
    const first = await open(mesh, { onError: () => {}, connection: crashing, ackWaitMs: 600_000 });
    const received = deferred<readonly BusValue[]>();
    first.subscribe(3, (items) => {
      received.resolve(items);
      return { done: new Promise(() => {}) };
    });
    await first.publish(3, { n: 1 });
    expect(await received.promise).toEqual([{ n: 1 }]);
    await crashing.close();
    await first.closed;

    await using next = await open(mesh, { onError: () => {}, ackWaitMs: 600_000 });
    await next.publish(3, { n: 2 });
    const seen: BusValue[] = [];
    const both = deferred<void>();
    next.subscribe(
      3,
      (items) => {
        seen.push(...items);
        if (seen.length >= 2) both.resolve();
      },
      { takeOver: true },
    );
    await both.promise;
    expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
    await next.drain();
  });

  it('binds a partition again when its consumer is deleted under it, and reports it', async () => {
    const mesh = freshMesh();
    const errors: string[] = [];
    await using bus = await open(mesh, {
      onError: (err) => errors.push(isMeshwardenError(err) ? err.code : String(err)),
    });
    const seen: BusValue[] = [];
    let arrived = deferred<void>();
    bus.subscribe(5, (items) => {
      seen.push(...items);
      arrived.resolve();
    });
    await bus.publish(5, { n: 1 });
    await arrived.promise;
    arrived = deferred<void>();
    // As a mistaken operator (or a lost broker state) would: the partition's owner still holds it.
    const jsm = await jetstreamManager(nats.connection());
    await jsm.consumers.delete(streamNameOf(mesh), consumerNameOf(5));
    await bus.publish(5, { n: 2 });
    await arrived.promise;
    expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
    expect(errors).toContain('MW_RUNTIME_BUS_CONSUMER');
    await bus.drain();
  });

  it('keeps a batch that runs longer than the ack wait from being redelivered (+WPI)', async () => {
    const mesh = freshMesh();
    await using bus = await open(mesh, { onError: () => {}, ackWaitMs: 300 });
    const seen: BusValue[] = [];
    const started = deferred();
    bus.subscribe(0, (items) => {
      seen.push(...items);
      started.resolve();
      // Durable only after several ack waits: without working indicators the broker would resend.
      return { done: new Promise((resolve) => setTimeout(resolve, 1_500)) };
    });
    await bus.publish(0, { n: 1 });
    await started.promise;
    await bus.publish(0, { n: 2 }); // queued behind nothing, handled while the first is unacked
    await bus.drain();
    expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('rides out a lost connection: reconnects, and what is published after it is handled', async () => {
    const mesh = freshMesh();
    const { reported, onError } = collector();
    await using proxy = await cuttableProxy(4222);
    const connection = await connect({
      servers: `nats://127.0.0.1:${proxy.port}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 50,
    });
    onTestFinished(() => connection.close());
    // A short ack wait: a delivery lost in the cut comes back soon (at least once).
    await using bus = await open(mesh, { onError, connection, idOf, ackWaitMs: 1_000 });
    const seen: BusValue[] = [];
    const second = deferred();
    bus.subscribe(0, (items) => {
      seen.push(...items);
      if (seen.length >= 2) second.resolve();
    });
    await bus.publish(0, { id: 'a' });
    await bus.drain();
    await connection.flush(); // a's ack reached the broker: only b's fate is under test
    proxy.cut(); // every socket through the proxy dies, as in a network cut or a broker restart
    proxy.heal(); // and it accepts again, so the client reconnects
    // A publish while cut off may be refused (typed); the same id may be sent again, safely.
    let code: string | undefined = 'not yet';
    while (code !== undefined) {
      code = await codeOf(bus.publish(0, { id: 'b' }));
      if (code !== undefined) expect(code).toBe('MW_RUNTIME_BUS_PUBLISH');
    }
    await second.promise;
    await bus.drain();
    expect(seen).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(reported).toEqual([]);
  });

  it('carries what one bus publishes to the subscriber on another bus of the same mesh', async () => {
    const mesh = freshMesh();
    await using owner = await open(mesh, { onError: () => {} });
    await using forwarder = await open(mesh, { onError: () => {} });
    const seen: BusValue[] = [];
    owner.subscribe(3, (items) => {
      seen.push(...items);
    });
    const items = Array.from({ length: 200 }, (_, n) => ({ n }));
    for (const item of items) await forwarder.publish(3, item);
    // The forwarder's drain waits for the owner's consumer to ack what it published.
    await forwarder.drain();
    expect(seen).toEqual(items);
    await owner.drain();
  });

  it('drains once the partition’s consumer acked its items, when it took the partition over after', async () => {
    const mesh = freshMesh();
    await using forwarder = await open(mesh, { onError: () => {} });
    const owner = await open(mesh, { onError: () => {} });
    const got = deferred();
    owner.subscribe(6, () => got.resolve());
    await forwarder.publish(6, { n: 1 });
    await got.promise;
    await owner.close(); // handled and acked by the first owner
    forwarder.subscribe(6, () => {}); // the forwarder now owns partition 6: it never sees that item
    await forwarder.drain();
  });

  it('closes without waiting for partitions no one consumes, whose items wait for their next owner', async () => {
    const mesh = freshMesh();
    const { reported, onError } = collector();
    const first = await open(mesh, { onError });
    await first.publish(5, { n: 1 });
    await first.publish(5, { n: 2 });
    await first.close();
    expect(await first.closed).toBeUndefined();
    expect(reported).toEqual([]); // kept by the stream, not lost: nothing to report
    await using next = await open(mesh, { onError });
    const seen: BusValue[] = [];
    const both = deferred();
    next.subscribe(5, (items) => {
      seen.push(...items);
      if (seen.length === 2) both.resolve();
    });
    await both.promise;
    expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('terminates a message that is not JSON and reports it, then goes on', async () => {
    const mesh = freshMesh();
    const { reported, onError } = collector();
    await using bus = await open(mesh, { onError });
    const seen: BusValue[] = [];
    const got = deferred();
    bus.subscribe(1, (items) => {
      seen.push(...items);
      if (seen.length === 1) got.resolve();
    });
    // Written by something else on the mesh's subject: not an item of this bus.
    const jsm = await jetstreamManager(nats.connection());
    await jsm.jetstream().publish(partitionSubject(mesh, 1), '{not json');
    await bus.publish(1, { n: 1 });
    await got.promise;
    await bus.drain();
    expect(seen).toEqual([{ n: 1 }]);
    expect(reported).toEqual([{ code: 'MW_RUNTIME_BUS_DECODE', partition: 1, items: [] }]);
  });

  it('refuses to use a stream of the mesh’s name that something else made otherwise', async () => {
    const mesh = freshMesh();
    const jsm = await jetstreamManager(nats.connection());
    await jsm.streams.add({ name: streamNameOf(mesh), subjects: [`other.${mesh}`] });
    expect(await codeOf(open(mesh, { onError: () => {} }))).toBe('MW_RUNTIME_BUS_STREAM');
  });

  it('refuses a partition beyond the mesh’s count, and reports NATS it cannot reach with a typed error', async () => {
    const mesh = freshMesh();
    await using bus = await open(mesh, { onError: () => {}, partitions: 2 });
    expect(await codeOf(bus.publish(2, 'x'))).toBe('MW_RUNTIME_BUS_PARTITION_RANGE');
    expect(
      await codeOf(
        openJetStreamBus({ servers: 'nats://127.0.0.1:1', mesh, partitions: 1, onError: () => {} }),
      ),
    ).toBe('MW_RUNTIME_BUS_CONNECT');
    // An empty mesh name would make the subjects `mw..p.*`: refused before connecting.
    expect(await codeOf(openJetStreamBus({ mesh: '', partitions: 1, onError: () => {} }))).toBe(
      'MW_RUNTIME_BUS_OPTIONS',
    );
  });
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return isMeshwardenError(err) ? err.code : `not a MeshwardenError: ${String(err)}`;
  }
}
