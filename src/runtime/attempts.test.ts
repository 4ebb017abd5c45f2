import { describe, expect, it } from 'vitest';
import type { Envelope } from '../envelope/index.js';
import { createAttempts } from './attempts.js';
import { zeroCounts } from './events.js';
import { log } from './test-kit.js';
import { createWorkTracker } from './work.js';

describe('attempts', () => {
  const msg = { id: '0190a000-0000-7000-8000-000000000001' } as Envelope;
  const attempts = () =>
    createAttempts({
      log,
      clock: () => 0,
      work: createWorkTracker(8, (err) => {
        throw err;
      }),
      counts: zeroCounts(),
      publish: () => {},
      failed: async () => undefined,
      retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 1 },
    });
  const wrap = (cause: unknown) => cause as never;

  it('answers a first try that returns at once without a promise', () => {
    expect(attempts().attempt(msg, 'w@1', () => 'done', wrap)).toEqual({
      ok: true,
      value: 'done',
      attempt: 1,
    });
  });

  it('retries a first try that throws at once, as it retries one that rejects', async () => {
    for (const fail of [
      () => {
        throw new Error('no');
      },
      () => Promise.reject(new Error('no')),
    ]) {
      let tries = 0;
      const result = attempts().attempt(msg, 'w@1', (n) => (++tries === 1 ? fail() : `try ${n}`), wrap);
      expect(result).toBeInstanceOf(Promise);
      expect(await result).toEqual({ ok: true, value: 'try 2', attempt: 2 });
    }
  });
});
