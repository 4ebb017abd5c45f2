import { describe, expect, it } from 'vitest';
import type { Envelope } from '../envelope/index.js';
import { breakerKey, bucketKey, budgetKey } from './keys.js';
import { createMemoryState, ECHO_MARKS_PER_SUBJECT } from './memory.js';
import type { BreakerState, EchoMark } from './types.js';
import { windowAdd } from './window.js';

const NOW = 1_750_000_000_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const open: BreakerState = { state: 'open', action: 'freeze', openedAt: NOW, by: 'loop' };
const mark = (effectId: string, at: number): EchoMark => ({
  fingerprints: ['00112233445566'],
  effectId,
  correlationid: 'c',
  hop: 1,
  ancestry: '',
  at,
});

describe('createMemoryState', () => {
  it('gives its contents as deltas that rebuild it, keys of every shape included', () => {
    const store = createMemoryState();
    const win = windowAdd(undefined, NOW, HOUR, 3);
    const env = { id: 'm1', subject: 's' } as unknown as Envelope;
    const verdict = { decision: 'hold', detail: 'd', reason: 'approval.required', stage: 'approval' };
    store.apply([
      { kind: 'bucket', key: bucketKey('l', 's'), state: { tat: NOW + 5 } },
      { kind: 'window', key: bucketKey('l', 's'), state: win },
      { kind: 'window', key: budgetKey('b', 's:1|x'), state: win },
      { kind: 'bucket', key: 'plain', state: { tat: NOW } },
      { kind: 'window', key: 'one|bar', state: win },
      { kind: 'breaker-open', key: breakerKey('loop', 's'), state: open },
      { kind: 'echo', subject: 's', mark: mark('e1', NOW) },
      { kind: 'echo', subject: 's', mark: mark('e2', NOW + 1) },
      { kind: 'reply-token', subject: 's', effectId: 'e1', token: 'tok-123456' },
      { kind: 'seen', id: 'id-1', at: NOW },
      {
        hold: { envelope: env, gated: 'message', heldAt: NOW, msgId: 'm2', subject: 's', verdict },
        kind: 'hold-open',
      },
      {
        hold: { envelope: env, gated: 'message', heldAt: NOW, msgId: 'm1', subject: 's', verdict },
        kind: 'hold-open',
      },
    ]);
    const copy = createMemoryState();
    copy.apply(store.contents());
    expect(copy.contents()).toEqual(store.contents());
    expect(copy.size()).toBe(store.size());
    expect(copy.window('one|bar')).toEqual(win);
    expect(copy.bucket('plain')).toEqual({ tat: NOW });
    expect(copy.echoes('s').map((m) => [m.effectId, m.replyToken])).toEqual([
      ['e1', 'tok-123456'],
      ['e2', undefined],
    ]);
    expect(copy.holds().map((h) => h.msgId)).toEqual(['m2', 'm1']);
    expect(createMemoryState().contents()).toEqual([]);
  });

  it('applies every kind of delta and reads it back', () => {
    const store = createMemoryState();
    const win = windowAdd(undefined, NOW, HOUR, 3);
    store.apply([
      { kind: 'bucket', key: bucketKey('l', 's'), state: { tat: NOW + 5 } },
      { kind: 'window', key: budgetKey('b', 's'), state: win },
      { kind: 'breaker-open', key: breakerKey('loop', 's'), state: open },
      { kind: 'echo', subject: 's', mark: mark('e1', NOW) },
      { kind: 'seen', id: 'id-1', at: NOW },
    ]);
    expect(store.bucket(bucketKey('l', 's'))).toEqual({ tat: NOW + 5 });
    expect(store.window(budgetKey('b', 's'))).toEqual(win);
    expect(store.breaker(breakerKey('loop', 's'))).toEqual(open);
    expect(store.echoes('s').map((m) => m.effectId)).toEqual(['e1']);
    expect(store.echoes('nobody')).toEqual([]);
    expect(store.seen('id-1')).toBe(NOW);
    expect(store.size()).toBe(5);
    store.apply([{ kind: 'breaker-close', key: breakerKey('loop', 's') }]);
    expect(store.breaker(breakerKey('loop', 's'))).toBeUndefined();
    expect(store.size()).toBe(4);
  });

  it(`keeps the ${ECHO_MARKS_PER_SUBJECT} newest echo marks per subject`, () => {
    const store = createMemoryState();
    for (let i = 0; i < 20; i++) store.apply([{ kind: 'echo', subject: 's', mark: mark(`e${i}`, NOW + i) }]);
    const ids = store.echoes('s').map((m) => m.effectId);
    expect(ids).toHaveLength(ECHO_MARKS_PER_SUBJECT);
    expect(ids[0]).toBe('e4');
    expect(ids.at(-1)).toBe('e19');
  });

  it('lists open breakers in key order', () => {
    const store = createMemoryState();
    store.apply([
      { kind: 'breaker-open', key: breakerKey('pilot', 'b'), state: open },
      { kind: 'breaker-open', key: breakerKey('loop', 'z'), state: open },
      { kind: 'breaker-open', key: breakerKey('loop', 'a'), state: open },
    ]);
    expect(store.openBreakers().map((b) => b.key)).toEqual(['br|loop|a', 'br|loop|z', 'br|pilot|b']);
  });

  it.each([
    { name: 'a full bucket', delta: { kind: 'bucket', key: 'k', state: { tat: NOW } }, at: NOW, dropped: 1 },
    {
      name: 'a draining bucket',
      delta: { kind: 'bucket', key: 'k', state: { tat: NOW + 1 } },
      at: NOW,
      dropped: 0,
    },
    {
      name: 'an expired window',
      delta: { kind: 'window', key: 'k', state: windowAdd(undefined, NOW, HOUR, 1) },
      at: NOW + 2 * HOUR,
      dropped: 1,
    },
    {
      name: 'a live window',
      delta: { kind: 'window', key: 'k', state: windowAdd(undefined, NOW, HOUR, 1) },
      at: NOW + HOUR,
      dropped: 0,
    },
    {
      // Kept for the gate to close, with the delta that alerts: the next message for it.
      name: 'a cooled-down breaker',
      delta: { kind: 'breaker-open', key: 'k', state: { ...open, closesAt: NOW } },
      at: NOW,
      dropped: 0,
    },
    {
      name: 'a breaker a day past its cooldown',
      delta: { kind: 'breaker-open', key: 'k', state: { ...open, closesAt: NOW } },
      at: NOW + DAY + 1,
      dropped: 1,
    },
    {
      name: 'a breaker in cooldown',
      delta: { kind: 'breaker-open', key: 'k', state: { ...open, closesAt: NOW + 1 } },
      at: NOW,
      dropped: 0,
    },
    {
      name: 'a breaker without cooldown',
      delta: { kind: 'breaker-open', key: 'k', state: open },
      at: NOW + DAY * 365,
      dropped: 0,
    },
    {
      name: 'an old echo mark',
      delta: { kind: 'echo', subject: 's', mark: mark('e', NOW) },
      at: NOW + DAY + 1,
      dropped: 1,
    },
    {
      name: 'a recent echo mark',
      delta: { kind: 'echo', subject: 's', mark: mark('e', NOW) },
      at: NOW + DAY,
      dropped: 0,
    },
    { name: 'an old seen id', delta: { kind: 'seen', id: 'i', at: NOW }, at: NOW + HOUR + 1, dropped: 1 },
    { name: 'a recent seen id', delta: { kind: 'seen', id: 'i', at: NOW }, at: NOW + HOUR, dropped: 0 },
  ] as const)('evicts $name: $dropped, at once or in steps', ({ delta, at, dropped }) => {
    const store = createMemoryState({ echoWindowMs: DAY, dedupeWindowMs: HOUR });
    store.apply([delta]);
    expect(store.evict(at)).toBe(dropped);
    expect(store.size()).toBe(1 - dropped);
    const stepped = createMemoryState({ echoWindowMs: DAY, dedupeWindowMs: HOUR });
    stepped.apply([delta]);
    const steps = stepped.evictInSteps(at, 1);
    let step = steps.next();
    while (!step.done) step = steps.next();
    expect(step.value).toBe(dropped);
    expect(stepped.contents()).toEqual(store.contents());
  });

  it('drops only the expired marks of a subject', () => {
    const store = createMemoryState({ echoWindowMs: HOUR });
    store.apply([
      { kind: 'echo', subject: 's', mark: mark('old', NOW - 2 * HOUR) },
      { kind: 'echo', subject: 's', mark: mark('new', NOW) },
    ]);
    expect(store.evict(NOW)).toBe(0);
    expect(store.echoes('s').map((m) => m.effectId)).toEqual(['new']);
  });
});
