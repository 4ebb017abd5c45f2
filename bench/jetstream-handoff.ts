// node bench/jetstream-handoff.ts [items=2000] [--servers nats://…]: how long a hand-off of a
// partition takes on the JetStream bus, after `npm run build`, against a NATS server with JetStream
// (default MW_BENCH_NATS, else nats://127.0.0.1:4222). A bus packing 64 items a message (as a cluster
// node's) holds `items` of its own in process for a partition whose handler is busy, gives the
// partition up (`unsubscribe`), and subscribes again, as the next owner would: prints the time from
// the unsubscribe until the new subscriber has every item, and how many messages carried them. Three
// rounds; each run has a stream of its own, deleted after. Not part of `npm run bench`.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { openJetStreamBus } from '../dist/runtime/jetstream-bus.js';
import { streamNameOf } from '../dist/runtime/jetstream-names.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { servers: { type: 'string' } },
});
const count = Number(positionals[0] ?? 2_000);
const servers = values.servers ?? process.env.MW_BENCH_NATS ?? 'nats://127.0.0.1:4222';
const PARTITION = 1;

type Item = { n: number };

async function handOff(): Promise<{ ms: number; messages: number }> {
  const mesh = `bench-${randomUUID().slice(0, 8)}`;
  const bus = await openJetStreamBus<Item>({
    servers,
    mesh,
    partitions: 4,
    maxItemsPerMessage: 64,
    local: () => true,
    onError: (err) => console.error(err),
  });
  try {
    const busy = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    let calls = 0;
    bus.subscribe(PARTITION, async () => {
      if (++calls !== 2) return;
      busy.resolve();
      await release.promise;
    });
    await bus.publish(PARTITION, { n: 0 }); // through the stream: the lane has caught up after it
    await bus.drain();
    await bus.publish(PARTITION, { n: 1 }); // in process, held in the handler
    await busy.promise;
    for (let n = 2; n < count + 2; n++) await bus.publish(PARTITION, { n }); // in process, queued
    const began = performance.now();
    const giving = bus.unsubscribe(PARTITION);
    release.resolve();
    await giving;
    const all = Promise.withResolvers<void>();
    let seen = 0;
    bus.subscribe(PARTITION, (items) => {
      seen += items.length;
      if (seen >= count) all.resolve();
    });
    await all.promise;
    const ms = performance.now() - began;
    return { ms, messages: (await lastSeq(mesh)) - 1 }; // less the first item's own
  } finally {
    await bus.close();
    await removeStream(mesh);
  }
}

async function withAdmin<R>(work: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<R>) {
  const nc = await connect({ servers });
  try {
    return await work(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}
const lastSeq = (mesh: string) =>
  withAdmin(async (jsm) => (await jsm.streams.info(streamNameOf(mesh))).state.last_seq);
const removeStream = (mesh: string) =>
  withAdmin((jsm) => jsm.streams.delete(streamNameOf(mesh)).catch(() => false));

for (let round = 1; round <= 3; round++) {
  const { ms, messages } = await handOff();
  console.log(
    `round ${round}: ${count.toLocaleString('en')} items held in process handed to the next subscriber in ${ms.toFixed(0)} ms, in ${messages.toLocaleString('en')} messages`,
  );
}
