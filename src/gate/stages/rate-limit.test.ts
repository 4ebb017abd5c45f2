import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../envelope/index.js';
import type { RateLimit } from '../../policy/index.js';
import { bucketKey, createMemoryState } from '../../state/index.js';
import { envelope, NOW, src, step, testPolicy } from '../test-kit.js';

const limit = (over: Partial<RateLimit>): RateLimit => ({
  id: 'l',
  scope: 'entity',
  intervalMs: 1000,
  burst: 2,
  rate: '1/s',
  ...over,
});
const ticket = (subject = 'account:8841') => envelope({ subject });
const scored = (target?: string) =>
  envelope({
    source: src('sentiment'),
    type: 'ticket.scored.v1',
    data: { score: 1 },
    ...(target === undefined ? {} : { target }),
  });

/** Reasons of each envelope in turn, all at NOW, against one store. */
function reasons(limits: RateLimit[], envs: Envelope[], partitions = 1): string[] {
  const store = createMemoryState();
  const policy = testPolicy({ limits, partitions });
  return envs.map((e) => step(store, policy, e).verdict.reason);
}

const OK = 'gate.admitted';
const NO = 'rate-limit.exceeded';

describe('rate-limit stage', () => {
  it.each([
    {
      name: 'entity burst of 2',
      limits: [limit({})],
      envs: [ticket(), ticket(), ticket()],
      want: [OK, OK, NO],
    },
    {
      name: 'entities are separate',
      limits: [limit({ burst: 1 })],
      envs: [ticket(), ticket('account:1'), ticket()],
      want: [OK, OK, NO],
    },
    {
      name: 'match on type',
      limits: [limit({ burst: 1, match: { type: 'ticket.scored.v1' } })],
      envs: [ticket(), ticket(), scored(), scored()],
      want: [OK, OK, OK, NO],
    },
    {
      name: 'match on source',
      limits: [limit({ burst: 1, match: { source: 'inbox' } })],
      envs: [scored(), scored(), ticket(), ticket()],
      want: [OK, OK, OK, NO],
    },
    {
      name: 'match on target',
      limits: [limit({ burst: 1, match: { target: 'churn' } })],
      envs: [scored(), scored(), scored('churn'), scored('churn')],
      want: [OK, OK, OK, NO],
    },
    {
      name: 'agent scope',
      limits: [limit({ scope: 'agent', burst: 1 })],
      envs: [ticket(), ticket('account:1'), scored()],
      want: [OK, NO, OK],
    },
    {
      name: 'edge scope: by target or type',
      limits: [limit({ scope: 'edge', burst: 1 })],
      envs: [scored(), scored('churn'), scored(), scored('churn')],
      want: [OK, OK, NO, NO],
    },
    {
      name: 'mesh scope',
      limits: [limit({ scope: 'mesh', burst: 2 })],
      envs: [ticket(), scored(), ticket('account:1')],
      want: [OK, OK, NO],
    },
    {
      name: 'every matching limit applies',
      limits: [limit({ burst: 5 }), limit({ id: 'm', scope: 'mesh', burst: 1 })],
      envs: [ticket(), ticket()],
      want: [OK, NO],
    },
  ])('$name', ({ limits, envs, want }) => {
    expect(reasons(limits, envs)).toEqual(want);
  });

  it('splits agent and mesh limits across partitions, not entity ones', () => {
    const four = Array.from({ length: 4 }, () => ticket());
    expect(reasons([limit({ scope: 'agent', burst: 8 })], four, 4)).toEqual([OK, OK, NO, NO]);
    expect(reasons([limit({ scope: 'mesh', burst: 3 })], four, 4)).toEqual([OK, NO, NO, NO]);
    expect(reasons([limit({ scope: 'entity', burst: 3 })], four, 4)).toEqual([OK, OK, OK, NO]);
  });

  it('refills over time and names the limit', () => {
    const store = createMemoryState();
    const policy = testPolicy({ limits: [limit({ burst: 1 })] });
    step(store, policy, ticket());
    const denied = step(store, policy, ticket(), { now: NOW + 999 });
    expect(denied.verdict).toMatchObject({ decision: 'deny', stage: 'rate-limit', rule: 'l', reason: NO });
    expect(denied.deltas).toEqual([]);
    expect(step(store, policy, ticket(), { now: NOW + 1000 }).verdict.reason).toBe(OK);
  });

  it('records a bucket delta for an admitted message', () => {
    const d = step(createMemoryState(), testPolicy({ limits: [limit({})] }), ticket());
    expect(d.deltas).toEqual([
      { kind: 'bucket', key: bucketKey('l', 'account:8841'), state: { tat: NOW + 1000 } },
    ]);
  });
});
