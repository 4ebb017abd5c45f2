import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Envelope, isMeshwardenError } from '../envelope/index.js';
import { loadPolicy, type Policy } from '../policy/index.js';
import {
  breakerCountKey,
  breakerKey,
  createMemoryState,
  holdOpen,
  LOOP_BREAKER,
  PILOT_BREAKER,
  type StateDelta,
  type StateStore,
} from '../state/index.js';
import { decidePilotAction, type PilotAction } from './pilot-decision.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const act = { pilot: 'ana', reason: 'checked' };
const open = (by: string): StateDelta => ({
  key: breakerKey(by === 'pilot:ana' ? PILOT_BREAKER : by, 'job:1'),
  kind: 'breaker-open',
  state: { state: 'open', action: 'freeze', openedAt: NOW - 1, by },
});
const held: Envelope = {
  specversion: '1.0',
  id: '019e807a-ec00-7000-8000-000000000001',
  source: 'mesh://t/api',
  type: 'job.queued.v1',
  time: '2026-06-01T00:00:00Z',
  subject: 'job:1',
  correlationid: '019e807a-ec00-7000-8000-000000000001',
  hop: 0,
  data: { n: 99 },
};

let policy: Policy;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-pilot-'));
  mkdirSync(join(dir, 'contracts'));
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: t',
      'agents:',
      '  sink: { version: 1.0.0, module: ./sink.mjs, consumes: [job.queued.v1] }',
      'ingress:',
      '  api: { emits: [job.queued.v1] }',
      'breakers:',
      '  - { id: burst, scope: entity, when: { count: job.queued.v1, over: 2, window: 1h }, action: freeze }',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), JSON.stringify({ type: 'object' }));
  writeFileSync(join(dir, 'sink.mjs'), 'export default { handle() {} };');
  const loaded = await loadPolicy(join(dir, 'mesh.yaml'));
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  policy = loaded.policy;
});

/** A state with `deltas` applied, and the decision over it at NOW. */
function decideOver(action: PilotAction, deltas: readonly StateDelta[] = []) {
  const state: StateStore = createMemoryState();
  state.apply(deltas);
  return decidePilotAction(action, state, policy, NOW);
}

describe('decidePilotAction refuses, changing nothing', () => {
  it.each([
    {
      name: 'approving what is not held',
      a: { action: 'approve', msgId: held.id, act },
      code: 'MW_PILOT_NOT_HELD',
    },
    {
      name: 'rejecting what is not held',
      a: { action: 'reject', msgId: held.id, act },
      code: 'MW_PILOT_NOT_HELD',
    },
    {
      name: 'freezing a frozen subject',
      a: { action: 'freeze', subject: 'job:1', act },
      deltas: [open('pilot:ana')],
      code: 'MW_PILOT_ALREADY_FROZEN',
    },
    {
      name: 'unfreezing what is not frozen',
      a: { action: 'unfreeze', subject: 'job:1', act },
      code: 'MW_PILOT_NOT_FROZEN',
    },
    {
      name: 'resetting a closed breaker',
      a: { action: 'reset', breaker: 'burst', key: 'job:1', act },
      code: 'MW_PILOT_NO_BREAKER',
    },
    {
      name: 'a subject with a lone surrogate',
      a: { action: 'freeze', subject: 'job:\ud800', act },
      code: 'MW_PILOT_BAD_TEXT',
    },
    {
      name: 'a reason with a lone surrogate',
      a: { action: 'unfreeze', subject: 'job:1', act: { pilot: 'ana', reason: '\ud800' } },
      deltas: [open(LOOP_BREAKER)],
      code: 'MW_PILOT_BAD_TEXT',
    },
    {
      name: 'an approval by a pilot whose name has a lone surrogate',
      a: { action: 'approve', msgId: held.id, act: { pilot: 'an\ud800', reason: 'ok' } },
      deltas: [
        holdOpen(
          held,
          'message',
          { decision: 'hold', detail: 'Held.', reason: 'approval.required', rule: 'big', stage: 'approval' },
          NOW,
          false,
        ),
      ],
      code: 'MW_PILOT_BAD_TEXT',
    },
  ] as const)('$name → $code', ({ a, code, ...rest }) => {
    const deltas = 'deltas' in rest ? rest.deltas : [];
    const decided = decideOver(a, deltas);
    expect(isMeshwardenError(decided) ? decided.code : decided).toBe(code);
  });
});

describe('decidePilotAction decides', () => {
  it('a freeze: the pilot breaker opens now, by the pilot', () => {
    expect(decideOver({ action: 'freeze', subject: 'job:1', act })).toEqual({
      kind: 'record',
      action: 'freeze',
      subject: 'job:1',
      deltas: [
        {
          key: breakerKey(PILOT_BREAKER, 'job:1'),
          kind: 'breaker-open',
          state: { state: 'open', action: 'freeze', openedAt: NOW, by: 'pilot:ana' },
        },
      ],
      data: {},
    });
  });

  it('an unfreeze: every open freeze on the subject closes, and the entry names them', () => {
    const decided = decideOver({ action: 'unfreeze', subject: 'job:1', act }, [
      open(LOOP_BREAKER),
      open('pilot:ana'),
    ]);
    expect(decided).toEqual({
      kind: 'record',
      action: 'unfreeze',
      subject: 'job:1',
      deltas: [
        { key: breakerKey(LOOP_BREAKER, 'job:1'), kind: 'breaker-close' },
        { key: breakerKey(PILOT_BREAKER, 'job:1'), kind: 'breaker-close' },
      ],
      data: { breakers: [LOOP_BREAKER, PILOT_BREAKER] },
    });
  });

  it('a reset: the breaker closes and its count is cleared', () => {
    const decided = decideOver({ action: 'reset', breaker: 'burst', key: 'job:1', act }, [open('burst')]);
    expect(decided).toMatchObject({
      kind: 'record',
      action: 'reset',
      subject: 'job:1',
      deltas: [
        { key: breakerKey('burst', 'job:1'), kind: 'breaker-close' },
        { key: breakerCountKey('burst', 'job:1'), kind: 'window', state: { slots: [], start: 0 } },
      ],
      data: { breaker: 'burst' },
    });
  });

  it.each([
    ['approve', 'deliver'],
    ['reject', 'deny'],
  ] as const)('%s of a held message: its release, by the pilot, with the reason', (action, outcome) => {
    const verdict = {
      decision: 'hold',
      detail: 'Held.',
      reason: 'approval.required',
      rule: 'big',
      stage: 'approval',
    };
    const decided = decideOver({ action, msgId: held.id, act }, [
      holdOpen(held, 'message', verdict, NOW, false),
    ]);
    expect(decided).toEqual({
      kind: 'release',
      msgId: held.id,
      release: { outcome, by: 'pilot:ana', reason: 'checked' },
    });
  });
});
