import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../envelope/index.js';
import type { BusValue } from './bus.js';
import { describeBusConformance } from './bus-conformance.js';
import { createInProcessBus } from './in-process-bus.js';

describeBusConformance('in-process', (options) => createInProcessBus(options));
describeBusConformance('in-process, batches of 1', (options) =>
  createInProcessBus({ ...options, maxBatch: 1 }),
);

describe('in-process bus', () => {
  it('hands a burst over in batches of at most maxBatch, in order', async () => {
    await using bus = createInProcessBus<BusValue>({ onError: () => {}, maxBatch: 1_000 });
    const sizes: number[] = [];
    const seen: BusValue[] = [];
    bus.subscribe(0, (items) => {
      sizes.push(items.length);
      seen.push(...items);
    });
    const items = Array.from({ length: 2_500 }, (_, n) => n);
    for (const item of items) void bus.publish(0, item);
    await bus.drain();
    expect(sizes).toEqual([1_000, 1_000, 500]);
    expect(seen).toEqual(items);
  });

  it('reports on close the items of a partition no one subscribed to, so none vanishes unsaid', async () => {
    const reported: { code: string | undefined; partition: number; items: readonly BusValue[] }[] = [];
    const bus = createInProcessBus<BusValue>({
      onError: (error, failed) =>
        reported.push({ code: isMeshwardenError(error) ? error.code : undefined, ...failed }),
    });
    await bus.publish(3, 'a');
    await bus.publish(3, 'b');
    await bus.close();
    expect(await bus.closed).toBeUndefined();
    expect(reported).toEqual([{ code: 'MW_RUNTIME_BUS_UNHANDLED', partition: 3, items: ['a', 'b'] }]);
  });

  it('keeps its partition going when onError itself throws', async () => {
    await using bus = createInProcessBus<BusValue>({
      onError: () => {
        throw new Error('reporter broke');
      },
    });
    const seen: BusValue[] = [];
    bus.subscribe(0, (items) => {
      if (items.includes('bad')) throw new Error('handler broke');
      seen.push(...items);
    });
    await bus.publish(0, 'bad');
    await bus.drain();
    await bus.publish(0, 'good');
    await bus.drain();
    expect(seen).toEqual(['good']);
  });
});
