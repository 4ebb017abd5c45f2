import { describe, expect, it } from 'vitest';
import { createRequestBuffers } from './request-buffers.js';

describe('request buffers', () => {
  const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

  it('copies the bytes, and uses a buffer given back for the next request that fits', () => {
    const pool = createRequestBuffers();
    const first = pool.copyOf(bytes(1000, 7));
    expect(first).toEqual(bytes(1000, 7));
    pool.giveBack(first);
    const second = pool.copyOf(bytes(2000, 9));
    expect(second.buffer).toBe(first.buffer);
    expect(second).toEqual(bytes(2000, 9));
  });

  it('never hands out a buffer still in flight, nor one given back twice, twice', () => {
    const pool = createRequestBuffers();
    const a = pool.copyOf(bytes(10, 1));
    const b = pool.copyOf(bytes(10, 2));
    expect(b.buffer).not.toBe(a.buffer);
    expect(a).toEqual(bytes(10, 1));
    pool.giveBack(a);
    pool.giveBack(a);
    const c = pool.copyOf(bytes(10, 3));
    const d = pool.copyOf(bytes(10, 4));
    expect(c.buffer).toBe(a.buffer);
    expect(d.buffer).not.toBe(a.buffer);
    expect(d.buffer).not.toBe(b.buffer);
  });

  it('ignores bytes it did not make, and keeps at most `keep` idle buffers', () => {
    const pool = createRequestBuffers(1);
    pool.giveBack(bytes(10, 1));
    const a = pool.copyOf(bytes(10, 1));
    const b = pool.copyOf(bytes(10, 2));
    pool.giveBack(a);
    pool.giveBack(b);
    const c = pool.copyOf(bytes(10, 3));
    const d = pool.copyOf(bytes(10, 4));
    expect(c.buffer).toBe(a.buffer);
    expect([a.buffer, b.buffer]).not.toContain(d.buffer);
  });

  it('makes a larger buffer for a request past every idle one', () => {
    const pool = createRequestBuffers();
    const small = pool.copyOf(bytes(10, 1));
    pool.giveBack(small);
    const large = pool.copyOf(bytes(100_000, 5));
    expect(large.buffer).not.toBe(small.buffer);
    expect(large.buffer.byteLength).toBeGreaterThanOrEqual(100_000);
    expect(large).toEqual(bytes(100_000, 5));
  });
});
