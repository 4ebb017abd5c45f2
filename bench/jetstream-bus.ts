// node bench/jetstream-bus.ts [items=50000] [--servers nats://…]: the JetStream bus alone, after
// `npm run build`, against a NATS server with JetStream (default MW_BENCH_NATS, else
// nats://127.0.0.1:4222). Publishes envelope-sized items (each with an id, so as `Nats-Msg-Id`) to 1
// and 4 partitions, 1,000 publishes in flight at a time, with a handler that returns a receipt
// settled a turn later (as the runtime's, once a batch is durable), and prints items/s published and
// handled (acked); first, the same publishes with no bus and no consumer (the broker's ceiling).
// Each run has a stream of its own, deleted after. Not part of `npm run bench`, which needs no
// server.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { openJetStreamBus } from '../dist/runtime/jetstream-bus.js';
import { streamNameOf } from '../dist/runtime/jetstream-names.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { servers: { type: 'string' } },
});
const count = Number(positionals[0] ?? 50_000);
const servers = values.servers ?? process.env.MW_BENCH_NATS ?? 'nats://127.0.0.1:4222';
const IN_FLIGHT = 1_000;

type Item = {
  kind: string;
  envelope: { id: string; subject: string; hop: number; data: { amount: number } };
};

async function run(partitions: number): Promise<{ rate: number; batches: number }> {
  const mesh = `bench-${randomUUID().slice(0, 8)}`;
  const bus = await openJetStreamBus<Item>({
    servers,
    mesh,
    partitions,
    idOf: (item) => item.envelope.id,
    onError: (err) => console.error(err),
  });
  let handled = 0;
  let batches = 0;
  for (let p = 0; p < partitions; p++) {
    bus.subscribe(p, (items) => {
      handled += items.length;
      batches++;
      return { done: new Promise<void>((resolve) => setImmediate(resolve)) };
    });
  }
  const began = performance.now();
  for (let i = 0; i < count; i += IN_FLIGHT) {
    const accepted: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(count, i + IN_FLIGHT); j++) {
      const item = {
        kind: 'root',
        envelope: { id: `${mesh}-${j}`, subject: `account:${j % 1000}`, hop: 0, data: { amount: 1 } },
      };
      accepted.push(bus.publish(j % partitions, item));
    }
    await Promise.all(accepted);
  }
  await bus.drain();
  const seconds = (performance.now() - began) / 1000;
  await bus.close();
  const nc = await connect({ servers });
  await (await jetstreamManager(nc)).streams.delete(streamNameOf(mesh));
  await nc.close();
  if (handled !== count) throw new Error(`handled ${handled} of ${count}`);
  return { rate: Math.round(count / seconds), batches };
}

/** The broker's own ceiling: the same publishes (ids, 1,000 in flight) with no bus and no consumer. */
async function publishOnly(): Promise<number> {
  const mesh = `bench-${randomUUID().slice(0, 8)}`;
  const nc = await connect({ servers });
  const jsm = await jetstreamManager(nc);
  const js = jsm.jetstream();
  await jsm.streams.add({
    name: streamNameOf(mesh),
    subjects: [`${mesh}.>`],
    retention: RetentionPolicy.Workqueue,
  });
  const began = performance.now();
  for (let i = 0; i < count; i += IN_FLIGHT) {
    const acks: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(count, i + IN_FLIGHT); j++) {
      const item = {
        kind: 'root',
        envelope: { id: `${mesh}-${j}`, subject: 'account:1', hop: 0, data: { amount: 1 } },
      };
      acks.push(js.publish(`${mesh}.p`, JSON.stringify(item), { msgID: item.envelope.id }));
    }
    await Promise.all(acks);
  }
  const seconds = (performance.now() - began) / 1000;
  await jsm.streams.delete(streamNameOf(mesh));
  await nc.close();
  return Math.round(count / seconds);
}

await publishOnly(); // warm-up
console.log(
  `${count.toLocaleString('en')} items, JetStream publish alone (no bus, no consumer): ${(await publishOnly()).toLocaleString('en')} items/s`,
);

for (const partitions of [1, 4]) {
  await run(partitions); // warm-up
  const { rate, batches } = await run(partitions);
  console.log(
    `${count.toLocaleString('en')} items, ${partitions} partition(s), receipts: ${rate.toLocaleString('en')} items/s published and handled (${Math.round(count / batches)} items per batch on average)`,
  );
}
