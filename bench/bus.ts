// node bench/bus.ts [items]: the in-process bus alone, after `npm run build`. Publishes envelope-sized
// items to 1 and 4 partitions with a synchronous handler and with an asynchronous one (a promise per
// batch, as the runtime's ack after a ledger append), and prints items/s for each.
import { createInProcessBus } from '../dist/runtime/in-process-bus.js';

const count = Number(process.argv[2] ?? 200_000);

async function run(partitions: number, asynchronous: boolean): Promise<number> {
  const bus = createInProcessBus({ onError: (err) => console.error(err) });
  let handled = 0;
  for (let p = 0; p < partitions; p++) {
    bus.subscribe(
      p,
      asynchronous
        ? async (items) => {
            handled += items.length;
          }
        : (items) => {
            handled += items.length;
          },
    );
  }
  const item = { kind: 'root', envelope: { id: 'x', subject: 'account:1', hop: 0, data: { amount: 1 } } };
  const began = performance.now();
  // Published from many turns, as ingress does: 1,000 at a time, awaiting each publish's acceptance.
  for (let i = 0; i < count; i += 1_000) {
    const accepted: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(count, i + 1_000); j++) accepted.push(bus.publish(j % partitions, item));
    await Promise.all(accepted);
  }
  await bus.drain();
  const seconds = (performance.now() - began) / 1000;
  await bus.close();
  if (handled !== count) throw new Error(`handled ${handled} of ${count}`);
  return Math.round(count / seconds);
}

for (const asynchronous of [false, true]) {
  for (const partitions of [1, 4]) {
    await run(partitions, asynchronous); // warm-up
    const rate = await run(partitions, asynchronous);
    const handler = asynchronous ? 'async' : 'sync';
    console.log(
      `${count.toLocaleString('en')} items, ${partitions} partition(s), ${handler} handler: ${rate.toLocaleString('en')} items/s`,
    );
  }
}
