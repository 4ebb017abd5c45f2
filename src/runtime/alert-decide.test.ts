import { describe, expect, it } from 'vitest';
import type { AlertEventName, AlertRoute } from '../policy/index.js';
import {
  commitSent,
  createRouteMemory,
  decideAlert,
  holdBack,
  MAX_MARKS,
  type RouteMemory,
} from './alert-decide.js';

const NOW = 1_700_000_000_000;
const base: AlertRoute = {
  id: 'r',
  on: ['breaker.opened'],
  sink: 's',
  severity: 'critical',
  dedupeMs: 600_000,
};
const rated: AlertRoute = { ...base, dedupeMs: 0, rate: { intervalMs: 3000, burst: 2, text: '20/min' } };

type Step = [event: AlertEventName, key: string, atMs: number];

/** Runs the steps through one route; returns what each decided (`send+N` says N were held back before it). */
function run(route: AlertRoute, steps: readonly Step[]): string[] {
  const memory: RouteMemory = createRouteMemory();
  return steps.map(([event, key, at]) => {
    const d = decideAlert(route, memory, event, key, NOW + at);
    if (!d.send) {
      holdBack(memory);
      return d.reason;
    }
    commitSent(route, memory, d, event, key, NOW + at);
    return `send+${d.suppressed}`;
  });
}

describe('decideAlert', () => {
  it.each<[string, AlertRoute, Step[], string[]]>([
    ['first of a key is sent', base, [['breaker.opened', 'k', 0]], ['send+0']],
    [
      'same event and key within the window is a duplicate',
      base,
      [
        ['breaker.opened', 'k', 0],
        ['breaker.opened', 'k', 599_999],
      ],
      ['send+0', 'duplicate'],
    ],
    [
      'after the window it is sent again, saying how many were held back',
      base,
      [
        ['breaker.opened', 'k', 0],
        ['breaker.opened', 'k', 1000],
        ['breaker.opened', 'k', 600_000],
      ],
      ['send+0', 'duplicate', 'send+1'],
    ],
    [
      'another key is not a duplicate',
      base,
      [
        ['breaker.opened', 'k', 0],
        ['breaker.opened', 'j', 1],
      ],
      ['send+0', 'send+0'],
    ],
    [
      'a close clears the open mark: a re-open after a reset is news',
      base,
      [
        ['breaker.opened', 'k', 0],
        ['breaker.closed', 'k', 10],
        ['breaker.opened', 'k', 20],
      ],
      ['send+0', 'send+0', 'send+0'],
    ],
    [
      'the rate lets the burst through, then one per interval',
      rated,
      [
        ['hold.created', 'a', 0],
        ['hold.created', 'b', 0],
        ['hold.created', 'c', 0],
        ['hold.created', 'd', 2999],
        ['hold.created', 'e', 3000],
      ],
      ['send+0', 'send+0', 'rate', 'rate', 'send+2'],
    ],
    [
      'dedupe 0 sends every one',
      { ...base, dedupeMs: 0 },
      [
        ['breaker.opened', 'k', 0],
        ['breaker.opened', 'k', 0],
      ],
      ['send+0', 'send+0'],
    ],
  ])('%s', (_, route, steps, expected) => {
    expect(run(route, steps)).toEqual(expected);
  });

  it('a storm of 1,000 on one key sends one per window', () => {
    const steps: Step[] = Array.from({ length: 1000 }, (_, i) => ['breaker.opened', 'k', i * 100]);
    const out = run(base, steps);
    expect(out.filter((o) => o.startsWith('send')).length).toBe(1);
  });

  it('old marks are forgotten', () => {
    const memory = createRouteMemory();
    for (const [key, at] of [
      ['a', NOW],
      ['b', NOW + 600_000],
    ] as const) {
      const d = decideAlert(base, memory, 'breaker.opened', key, at);
      if (d.send) commitSent(base, memory, d, 'breaker.opened', key, at);
    }
    expect([...memory.sent.keys()]).toEqual(['breaker.opened|b']);
  });

  it('50,000 distinct keys within the window: every one is sent, and the marks stay capped', () => {
    const steps: Step[] = Array.from({ length: 50_000 }, (_, i) => ['hold.created', `m${i}`, i]);
    const memory = createRouteMemory();
    let sent = 0;
    for (const [event, key, at] of steps) {
      const d = decideAlert(base, memory, event, key, NOW + at);
      if (d.send) {
        commitSent(base, memory, d, event, key, NOW + at);
        sent++;
      }
    }
    expect(sent).toBe(50_000);
    expect(memory.sent.size).toBe(MAX_MARKS);
    expect(memory.sent.has('hold.created|m49999')).toBe(true);
  });

  it('a resolve is never a duplicate nor past the rate', () => {
    const steps: Step[] = [
      ['breaker.opened', 'a', 0],
      ['breaker.opened', 'b', 0],
      ['breaker.closed', 'a', 1],
      ['breaker.closed', 'a', 2],
      ['breaker.closed', 'b', 3],
    ];
    expect(run({ ...rated, dedupeMs: 600_000 }, steps)).toEqual([
      'send+0',
      'send+0',
      'send+0',
      'send+0',
      'send+0',
    ]);
  });
});
