import { describe, expect, it } from 'vitest';
import { createWorkTracker } from './work.js';

describe('work tracker', () => {
  it('counts work that returns no promise as done when it returns', async () => {
    const work = createWorkTracker(2, (err) => {
      throw err;
    });
    let ran = 0;
    work.run(() => {
      ran++;
    });
    expect(ran).toBe(1);
    expect(work.inFlight).toBe(0);
    await work.idle();
  });

  it('drains a long queue of synchronous work behind a slot without deepening the stack', async () => {
    const work = createWorkTracker(1, (err) => {
      throw err;
    });
    let release!: () => void;
    work.run(() => new Promise<void>((resolve) => (release = resolve)));
    let ran = 0;
    // A recursion per queued piece would overflow the stack long before this many.
    for (let i = 0; i < 200_000; i++)
      work.run(() => {
        ran++;
      });
    expect(ran).toBe(0);
    expect(work.inFlight).toBe(200_001);
    release();
    await work.idle();
    expect(ran).toBe(200_000);
    expect(work.inFlight).toBe(0);
  });

  it('runs work that synchronous work queued while it held the last place', async () => {
    const work = createWorkTracker(1, (err) => {
      throw err;
    });
    const order: string[] = [];
    work.run(() => {
      order.push('outer');
      work.run(() => {
        order.push('inner');
      });
    });
    expect(order).toEqual(['outer', 'inner']);
    expect(work.inFlight).toBe(0);
    await work.idle();
  });

  it('takes a function that returns something other than a promise as done', async () => {
    const work = createWorkTracker(1, (err) => {
      throw err;
    });
    const ran: number[] = [];
    const pushes: () => void = () => ran.push(1);
    work.run(pushes);
    work.run(pushes);
    expect(ran).toEqual([1, 1]);
    await work.idle();
  });

  it('reports work that throws and frees its place for the next', async () => {
    const errors: unknown[] = [];
    const work = createWorkTracker(1, (err) => errors.push(err));
    const order: string[] = [];
    work.run(() => {
      throw new Error('sync boom');
    });
    work.run(async () => {
      order.push('async');
      throw new Error('async boom');
    });
    work.run(() => {
      order.push('after');
    });
    await work.idle();
    expect(order).toEqual(['async', 'after']);
    expect(errors.map((e) => (e as Error).message)).toEqual(['sync boom', 'async boom']);
  });

  it('keeps the bound: at most `concurrency` asynchronous pieces run at once', async () => {
    const work = createWorkTracker(2, (err) => {
      throw err;
    });
    let running = 0;
    let most = 0;
    for (let i = 0; i < 10; i++)
      work.run(async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 1));
        running--;
      });
    await work.idle();
    expect(most).toBe(2);
  });
});
