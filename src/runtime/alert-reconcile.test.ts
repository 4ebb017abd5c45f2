import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../ledger/index.js';
import type { AlertRoute } from '../policy/index.js';
import type { BreakerState } from '../state/index.js';
import { lastBreakerAlerts, missingBreakerAlerts } from './alert-reconcile.js';

const NOW = 1_700_000_000_000;
const route: AlertRoute = {
  id: 'pd',
  on: ['breaker.opened', 'breaker.closed'],
  sink: 's',
  severity: 'critical',
  dedupeMs: 0,
};
const openOnly: AlertRoute = { ...route, id: 'chat', on: ['breaker.opened'] };
const state: BreakerState = { state: 'open', action: 'freeze', openedAt: NOW - 1000, by: 'x' };
const A = 'br|x|account:1';
const B = 'br|x|account:2';

async function* entries(rows: [at: number, route: string, key: string, event: string, outcome: string][]) {
  for (const [at, r, key, event, outcome] of rows)
    yield { at, kind: 'alert.sent', data: { route: r, key, event, outcome } } as unknown as LedgerEntry;
}

describe('missingBreakerAlerts', () => {
  it.each<[string, string[], [number, string, string, string, string][], string[]]>([
    ['an open breaker already paged: nothing', [A], [[1, 'pd', A, 'breaker.opened', 'sent']], []],
    ['an open breaker never paged: its opening', [A], [], [`pd breaker.opened ${A}`]],
    [
      'an open breaker whose page failed: its opening',
      [A],
      [[1, 'pd', A, 'breaker.opened', 'failed']],
      [`pd breaker.opened ${A}`],
    ],
    [
      'a closed breaker paged but not resolved: its closing',
      [],
      [[1, 'pd', A, 'breaker.opened', 'sent']],
      [`pd breaker.closed ${A}`],
    ],
    [
      'a closed breaker resolved: nothing',
      [],
      [
        [1, 'pd', A, 'breaker.opened', 'sent'],
        [2, 'pd', A, 'breaker.closed', 'sent'],
      ],
      [],
    ],
    [
      'reopened after its resolve and not paged again: its opening',
      [B],
      [
        [1, 'pd', B, 'breaker.opened', 'sent'],
        [2, 'pd', B, 'breaker.closed', 'sent'],
      ],
      [`pd breaker.opened ${B}`],
    ],
  ])('%s', async (_, open, rows, expected) => {
    const last = await lastBreakerAlerts(entries(rows));
    const missing = missingBreakerAlerts(
      [route],
      open.map((key) => ({ key, state })),
      last,
      NOW,
    );
    expect(missing.map((m) => `${m.route.id} ${m.alarm.event} ${m.alarm.key}`)).toEqual(expected);
  });

  it('resolves a breaker still in the state whose cooldown has passed, and does not page it again', async () => {
    const last = await lastBreakerAlerts(entries([[1, 'pd', A, 'breaker.opened', 'sent']]));
    const cooled = { key: A, state: { ...state, closesAt: NOW } };
    const missing = missingBreakerAlerts([route], [cooled], last, NOW);
    expect(missing.map((m) => `${m.route.id} ${m.alarm.event} ${m.alarm.key}`)).toEqual([
      `pd breaker.closed ${A}`,
    ]);
    expect(missingBreakerAlerts([route], [cooled], new Map(), NOW)).toEqual([]);
  });

  it('each route is reconciled alone, for the events it routes', async () => {
    const last = await lastBreakerAlerts(entries([[1, 'pd', A, 'breaker.opened', 'sent']]));
    const missing = missingBreakerAlerts([route, openOnly], [{ key: A, state }], last, NOW);
    expect(missing.map((m) => `${m.route.id} ${m.alarm.event}`)).toEqual(['chat breaker.opened']);
    expect(missing[0]!.alarm).toMatchObject({ subject: 'account:1', rule: 'x' });
  });
});
