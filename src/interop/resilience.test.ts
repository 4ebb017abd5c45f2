import { describe, expect, it } from 'vitest';
import { createResilience, type Where } from './resilience.js';

const fail = async (): Promise<never> => {
  throw new Error('down');
};
const ok = async () => 'ok';
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('createResilience: circuit.opened', () => {
  it('is raised once per outage, naming the call that opened it, until the circuit closes', async () => {
    const told: string[] = [];
    const r = createResilience({
      breakAfter: 2,
      halfOpenAfterMs: 20,
      onOpen: (w: Where) => told.push(w.url),
    });
    const a = { who: 'agent x', url: 'http://a' };
    const b = { who: 'agent x', url: 'http://b' };
    await r.execute(fail, a).catch(() => {});
    // Two calls at once: the one whose failure opened the circuit is named, not the last started.
    const second = r.execute(fail, a).catch(() => {});
    const third = r.execute(() => wait(5).then(fail), b).catch(() => {});
    await Promise.all([second, third]);
    expect(told).toEqual(['http://a']);
    // Half-open trials that fail open it again: the same outage, told once.
    for (let i = 0; i < 3; i++) {
      await wait(30);
      await r.execute(fail, a).catch(() => {});
    }
    expect(told).toEqual(['http://a']);
    // A trial that succeeds closes it; the next outage is told again.
    await wait(30);
    await r.execute(ok, a);
    await r.execute(fail, b).catch(() => {});
    await r.execute(fail, b).catch(() => {});
    expect(told).toEqual(['http://a', 'http://b']);
  });
});

describe('createResilience: a call’s own timeout', () => {
  const where = { who: 'agent x', url: 'http://a' };
  // Ignores its signal, as a call still reading an answer may: the timeout gives up on it anyway.
  const slow = () => wait(300).then(() => 'late');
  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: { code?: string; details?: unknown }) => e.code,
    );

  it('replaces the default, on the same circuit', async () => {
    const r = createResilience({ timeoutMs: 50, breakAfter: 2, halfOpenAfterMs: 60_000 });
    const own = { ms: 5000, setAt: 'agents.x.http.timeout' };
    expect(await r.execute(slow, where, own)).toBe('late');
    expect(await codeOf(r.execute(slow, where))).toBe('MW_INTEROP_TIMEOUT');
    expect(await codeOf(r.execute(slow, where, { ...own, ms: 60 }))).toBe('MW_INTEROP_TIMEOUT');
    // Two timeouts in a row on one circuit, whatever their bounds: it opened.
    expect(await codeOf(r.execute(ok, where))).toBe('MW_INTEROP_CIRCUIT_OPEN');
  });
});
