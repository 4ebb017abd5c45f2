import { describe, expect, it } from 'vitest';
import type { Envelope } from '../envelope/index.js';
import { holdOpen, holdRelease, holdTimeoutAt } from './hold.js';
import { createMemoryState } from './memory.js';

const NOW = 1_750_000_000_000;
const DAY = 86_400_000;
const envelope = (id: string): Envelope => ({
  specversion: '1.0',
  id,
  source: 'mesh://m/inbox',
  type: 'ticket.opened.v1',
  time: '2025-06-15T00:00:00Z',
  subject: 'account:1',
  correlationid: id,
  hop: 0,
  data: { text: 'x' },
});
const verdict = {
  decision: 'hold',
  detail: 'Held.',
  reason: 'approval.required',
  rule: 'big',
  stage: 'approval',
};

describe('holds in state', () => {
  it.each([false, true])('opens a hold (partner %s) and reads it back whole', (partner) => {
    const store = createMemoryState();
    const open = holdOpen(envelope('a'), 'message', verdict, NOW, partner);
    store.apply([open]);
    expect(store.hold('a')).toEqual({
      envelope: envelope('a'),
      gated: 'message',
      heldAt: NOW,
      msgId: 'a',
      ...(partner ? { partner: true } : {}),
      subject: 'account:1',
      verdict,
    });
    // Written in canonical member order, so the ledger takes the fast road.
    expect(Object.keys(open)).toEqual(['hold', 'kind']);
    expect(Object.keys(store.hold('a')!)).toEqual([...Object.keys(store.hold('a')!)].sort());
  });

  it('lists open holds in the order they opened, and a release closes one', () => {
    const store = createMemoryState();
    store.apply(['b', 'a', 'c'].map((id) => holdOpen(envelope(id), 'message', verdict, NOW, false)));
    expect(store.holds().map((h) => h.msgId)).toEqual(['b', 'a', 'c']);
    expect(store.size()).toBe(3);
    store.apply([holdRelease('a'), holdRelease('nobody')]);
    expect(store.holds().map((h) => h.msgId)).toEqual(['b', 'c']);
    expect(store.hold('a')).toBeUndefined();
  });

  it('never evicts a hold: only its release ends it', () => {
    const store = createMemoryState();
    store.apply([holdOpen(envelope('a'), 'effect', verdict, NOW, false)]);
    expect(store.evict(NOW + 365 * DAY)).toBe(0);
    expect(store.hold('a')?.gated).toBe('effect');
  });

  it('times an approval hold out from when it was held', () => {
    const store = createMemoryState();
    store.apply([holdOpen(envelope('a'), 'message', verdict, NOW, false)]);
    expect(holdTimeoutAt(store.hold('a')!, DAY)).toBe(NOW + DAY);
  });
});
