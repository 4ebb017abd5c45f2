// Several items in one JetStream message (jetstream-pack.ts), against a real NATS server: the bus
// contract with packing on, what a packed message looks like on the stream, and the stream's record
// of it (its wire) that keeps nodes too old to read it out.
import { jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../envelope/index.js';
import type { Bus, BusValue } from './bus.js';
import { describeBusConformance } from './bus-conformance.js';
import { meshSubjects, partitionSubject, streamNameOf } from './jetstream-names.js';
import { ITEMS_HEADER } from './jetstream-pack.js';
import {
  collector,
  deferred,
  everyItem,
  freshMesh as freshMeshOf,
  idOf,
  natsAdmin,
  type Options,
  openBus,
} from './jetstream-test-kit.js';

const nats = natsAdmin();
const freshMesh = () => freshMeshOf(nats.connection());
const PACKED = { maxItemsPerMessage: 64 } as const;
const open = (mesh: string, options: Options): Promise<Bus<BusValue>> =>
  openBus(mesh, { ...PACKED, ...options });

describeBusConformance(
  'JetStream, packed',
  (options) => open(freshMesh(), { redeliverDelayMs: 100, ...options }),
  {
    redelivery: true,
  },
);
describeBusConformance(
  'JetStream, packed, a subscribed partition’s own items handed over in process (local)',
  (options) => open(freshMesh(), { redeliverDelayMs: 100, local: everyItem, ...options }),
  { redelivery: true },
);

/** The stream's messages now, as stored: their headers' item count (none: one item) and their items. */
async function stored(mesh: string): Promise<{ count: string | undefined; items: unknown }[]> {
  const jsm = await jetstreamManager(nats.connection());
  const { state } = await jsm.streams.info(streamNameOf(mesh));
  const messages = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const msg = await jsm.streams.getMessage(streamNameOf(mesh), { seq });
    if (msg === null) continue;
    const count = msg.header?.get(ITEMS_HEADER);
    messages.push({ count: count === '' ? undefined : count, items: msg.json() });
  }
  return messages;
}

const numbered = (count: number, from = 0) => Array.from({ length: count }, (_, i) => ({ n: from + i }));

describe('JetStream bus, packed', () => {
  it('packs what is published to a partition in one turn into messages of up to 64 items, in order', async () => {
    const mesh = freshMesh();
    await using bus = await open(mesh, { onError: () => {} });
    await Promise.all([
      ...numbered(100).map((item) => bus.publish(0, item)),
      ...numbered(3, 100).map((item) => bus.publish(1, item)),
    ]);
    const messages = await stored(mesh);
    expect(messages.map((m) => m.count)).toEqual(['64', '36', '3']);
    expect(messages.flatMap((m) => m.items as unknown[])).toEqual(numbered(103));

    const seen = new Map<number, BusValue[][]>();
    for (const partition of [0, 1])
      bus.subscribe(partition, (items) => {
        seen.set(partition, [...(seen.get(partition) ?? []), [...items]]);
      });
    await bus.drain();
    expect(seen.get(0)?.flat()).toEqual(numbered(100));
    expect(seen.get(1)).toEqual([numbered(3, 100)]);
    expect(await stored(mesh)).toEqual([]); // each message acked once its items were handled
  });

  it('sends an item alone as a plain message, as a bus that does not pack does', async () => {
    const mesh = freshMesh();
    await using bus = await open(mesh, { onError: () => {} });
    await bus.publish(2, { n: 1 });
    await bus.publish(2, { n: 2 });
    expect(await stored(mesh)).toEqual([
      { count: undefined, items: { n: 1 } },
      { count: undefined, items: { n: 2 } },
    ]);
  });

  it('starts a new message before one would grow past 256 KB', async () => {
    const mesh = freshMesh();
    await using bus = await open(mesh, { onError: () => {} });
    const big = (n: number) => ({ n, text: 'x'.repeat(100_000) });
    await Promise.all([1, 2, 3, 4, 5].map((n) => bus.publish(0, big(n))));
    const messages = await stored(mesh);
    expect(messages.map((m) => m.count)).toEqual(['2', '2', undefined]);
  });

  it('hands a packed message’s items to one handler call, even past maxBatch, and hands them back together when not durable', async () => {
    const mesh = freshMesh();
    await using publisher = await open(mesh, { onError: () => {} });
    await Promise.all(numbered(20).map((item) => publisher.publish(3, item)));
    const { reported, onError } = collector();
    await using owner = await open(mesh, { onError, maxBatch: 8, redeliverDelayMs: 50 });
    const calls: BusValue[][] = [];
    const twice = deferred();
    owner.subscribe(3, (items) => {
      calls.push([...items]);
      if (calls.length === 2) twice.resolve();
      return {
        done: calls.length === 1 ? Promise.reject(new Error('the ledger refused')) : Promise.resolve(),
      };
    });
    await twice.promise;
    await owner.drain();
    expect(calls).toEqual([numbered(20), numbered(20)]);
    expect(reported.map((r) => r.code)).toEqual(['MW_RUNTIME_BUS_NOT_DURABLE']);
  });

  it('drops a resend of the very same packed items (a digest of their ids), and no other message', async () => {
    const mesh = freshMesh();
    await using bus = await open(mesh, { onError: () => {}, idOf });
    const publishTogether = (items: BusValue[]) => Promise.all(items.map((item) => bus.publish(0, item)));
    expect(await publishTogether([{ id: 'a' }, { id: 'b' }])).toEqual([undefined, undefined]);
    // A resend, say after a lost publish ack: each of its publishers is told it was dropped.
    expect(await publishTogether([{ id: 'a' }, { id: 'b' }])).toEqual(['duplicate', 'duplicate']);
    await publishTogether([{ id: 'a' }, { id: 'c' }]); // one id in common: not the same message
    await publishTogether([{ n: 1 }, { n: 2 }]); // no ids: no digest, never dropped
    await publishTogether([{ n: 1 }, { n: 2 }]);
    // Ids that run together into the same text are other ids all the same.
    await publishTogether([{ id: 'x\ny' }, { id: 'z' }]);
    await publishTogether([{ id: 'x' }, { id: 'y\nz' }]);
    await publishTogether([{ id: 'xy' }, { id: 'z' }]);
    await publishTogether([{ id: 'x' }, { id: 'yz' }]);
    expect((await stored(mesh)).map((m) => m.items)).toEqual([
      [{ id: 'a' }, { id: 'b' }],
      [{ id: 'a' }, { id: 'c' }],
      [{ n: 1 }, { n: 2 }],
      [{ n: 1 }, { n: 2 }],
      [{ id: 'x\ny' }, { id: 'z' }],
      [{ id: 'x' }, { id: 'y\nz' }],
      [{ id: 'xy' }, { id: 'z' }],
      [{ id: 'x' }, { id: 'yz' }],
    ]);
  });

  it('terminates a message whose item count header does not match its body, reports it, and goes on', async () => {
    const mesh = freshMesh();
    const { reported, onError } = collector();
    await using bus = await open(mesh, { onError });
    const js = (await jetstreamManager(nats.connection())).jetstream();
    for (const [count, body] of [
      ['3', '[1,2]'],
      ['2', '{"n":1}'],
    ] as const) {
      const h = headers();
      h.set(ITEMS_HEADER, count);
      await js.publish(partitionSubject(mesh, 1), body, { headers: h });
    }
    await bus.publish(1, { n: 1 });
    const seen: BusValue[] = [];
    bus.subscribe(1, (items) => {
      seen.push(...items);
    });
    await bus.drain();
    expect(seen).toEqual([{ n: 1 }]);
    expect(reported.map((r) => [r.code, r.partition, r.items])).toEqual([
      ['MW_RUNTIME_BUS_DECODE', 1, []],
      ['MW_RUNTIME_BUS_DECODE', 1, []],
    ]);
  });
});

describe('JetStream bus, the stream’s wire', () => {
  const description = async (mesh: string) =>
    (await (await jetstreamManager(nats.connection())).streams.info(streamNameOf(mesh))).config.description;

  it('records wire 2 after the identity on a stream it makes, so that an older node’s whole-string check refuses it', async () => {
    const mesh = freshMesh();
    await using bus = await open(mesh, { onError: () => {}, identity: 'partitions 8, ledger x' });
    expect(await description(mesh)).toBe('partitions 8, ledger x; wire 2');
    // A node of this version with the same identity joins it; one with another is refused.
    await using same = await open(mesh, { onError: () => {}, identity: 'partitions 8, ledger x' });
    expect(await codeOf(open(mesh, { onError: () => {}, identity: 'partitions 9, ledger x' }))).toBe(
      'MW_RUNTIME_CLUSTER_MISMATCH',
    );
    await Promise.all([bus.drain(), same.drain()]);
  });

  it('packs nothing on a stream made without wire 2, where an older node may read', async () => {
    const mesh = freshMesh();
    await using older = await openBus(mesh, { onError: () => {}, identity: 'partitions 8, ledger x' });
    expect(await description(mesh)).toBe('partitions 8, ledger x');
    await using bus = await open(mesh, { onError: () => {}, identity: 'partitions 8, ledger x' });
    await Promise.all(numbered(5).map((item) => bus.publish(0, item)));
    expect((await stored(mesh)).map((m) => m.count)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    await older.drain();
  });

  it('asks the broker for the same consumer whether it packs or not: 8,192 messages on wire 1, 1,024 on wire 2', async () => {
    const jsm = await jetstreamManager(nats.connection());
    const maxAckPending = async (mesh: string, bus: Bus<BusValue>, partition: number) => {
      bus.subscribe(partition, () => {});
      await bus.publish(partition, { n: 1 });
      await bus.drain();
      return (await jsm.consumers.info(streamNameOf(mesh), `p${partition}`)).config.max_ack_pending;
    };
    const wire1 = freshMesh();
    await using older = await openBus(wire1, { onError: () => {} });
    await using packing1 = await open(wire1, { onError: () => {} });
    expect([await maxAckPending(wire1, older, 0), await maxAckPending(wire1, packing1, 1)]).toEqual([
      8192, 8192,
    ]);
    const wire2 = freshMesh();
    await using packing2 = await open(wire2, { onError: () => {} });
    await using plain2 = await openBus(wire2, { onError: () => {} });
    expect([await maxAckPending(wire2, packing2, 0), await maxAckPending(wire2, plain2, 1)]).toEqual([
      1024, 1024,
    ]);
  });

  it('opens beside buses of the other wire that make the stream at the same moment', async () => {
    const mesh = freshMesh();
    const buses = await Promise.all(
      [1, 64, 1, 64].map((maxItemsPerMessage) => openBus(mesh, { onError: () => {}, maxItemsPerMessage })),
    );
    await Promise.all(buses.map((bus) => bus.close()));
  });

  it('refuses a stream that records a wire newer than it reads, with a typed error', async () => {
    const mesh = freshMesh();
    const jsm = await jetstreamManager(nats.connection());
    await jsm.streams.add({
      name: streamNameOf(mesh),
      subjects: [meshSubjects(mesh)],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      description: 'partitions 8, ledger x; wire 3',
    });
    const refused = await open(mesh, { onError: () => {}, identity: 'partitions 8, ledger x' }).catch(
      (e) => e,
    );
    expect(isMeshwardenError(refused) ? refused.code : refused).toBe('MW_RUNTIME_BUS_WIRE');
    expect(String(refused.message)).toContain('records wire 3, and this node reads only up to wire 2');
  });
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    const bus = (await promise) as Bus<BusValue>;
    await bus.close();
    return undefined;
  } catch (err) {
    return isMeshwardenError(err) ? err.code : 'not a MeshwardenError';
  }
}
