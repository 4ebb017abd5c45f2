import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extendAncestry, hopDigest } from '../envelope/index.js';
import { breakerKey, createMemoryState } from '../state/index.js';
import { decide, STAGE_NAMES } from './index.js';
import { envelope, fullPolicy, input, NOW, nextId, src, step, testPolicy } from './test-kit.js';
import type { Decision } from './types.js';

const BODY = 'We have credited 25 EUR to your account. Sorry for the trouble!';
const email = (data: object = { body: BODY }) =>
  envelope({
    source: src('discount'),
    type: 'email.send',
    data: data as never,
    hop: 3,
    ancestry: 'aaaaaaaaaaaa',
  });

/** Every verdict names its stage, a `<stage>.<snake_case>` reason and a sentence. */
function expectWellFormed(d: Decision): void {
  const { stage, reason, detail } = d.verdict;
  expect([...STAGE_NAMES, 'gate']).toContain(stage);
  expect(reason).toMatch(/^[a-z-]+\.[a-z_]+$/);
  expect(reason.startsWith(`${stage}.`)).toBe(true);
  expect(typeof detail).toBe('string');
  expect(detail.length).toBeGreaterThan(0);
}

describe('decide', () => {
  it('runs the stages in DESIGN.md order', () => {
    expect(STAGE_NAMES).toEqual([
      'envelope',
      'authorization',
      'contract',
      'loop',
      'rate-limit',
      'budget',
      'breaker',
      'approval',
    ]);
  });

  it('delivers with the policy digest and leaves the input alone', () => {
    const env = envelope();
    const d = decide(input(env), fullPolicy(), createMemoryState());
    expect(d.verdict).toMatchObject({ decision: 'deliver', stage: 'gate', reason: 'gate.admitted' });
    expect(d.envelope).toEqual({ ...env, policydigest: 'sha256:test-policy' });
    expect(env.policydigest).toBeUndefined();
    expect(d.link).toBeUndefined();
  });

  it.each([
    {
      name: 'denied',
      candidate: envelope({ type: 'ticket.scored.v1', data: { score: 1 } }),
      decision: 'deny',
    },
    { name: 'quarantined', candidate: envelope({ data: { text: 1 } }), decision: 'quarantine' },
  ])('returns the typed envelope, without digest, when $name', ({ candidate, decision }) => {
    const d = decide(input(candidate), fullPolicy(), createMemoryState());
    expect(d.verdict.decision).toBe(decision);
    expect(d.envelope?.id).toBe(candidate.id);
    expect(d.envelope?.policydigest).toBeUndefined();
    expect(d.deltas).toEqual([]);
  });

  describe('echo marks of admitted effects', () => {
    it('marks what an admitted effect said', () => {
      const env = email();
      const d = decide(input(env, { kind: 'effect' }), testPolicy(), createMemoryState());
      const echo = d.deltas.find((x) => x.kind === 'echo');
      expect(echo).toMatchObject({
        kind: 'echo',
        subject: 'account:8841',
        mark: {
          effectId: env.id,
          correlationid: env.correlationid,
          hop: 3,
          ancestry: extendAncestry('aaaaaaaaaaaa', hopDigest('discount', 'email.send', 'account:8841'), 8),
          at: NOW,
        },
      });
      expect(echo?.kind === 'echo' && echo.mark.fingerprints.length).toBe(1);
    });

    it.each([
      { name: 'no long text', body: 'ok', minLength: 16, fingerprints: 0 },
      { name: 'text shorter than echoMinLength', body: 'a1b2c3d4e5f6', minLength: 16, fingerprints: 0 },
      { name: 'text as long as echoMinLength', body: 'a1b2c3d4e5f6', minLength: 12, fingerprints: 1 },
    ])('remembers an effect with $name, by id and type', ({ body, minLength, fingerprints }) => {
      const base = testPolicy();
      const policy = testPolicy({
        guards: { ...base.guards, loop: { ...base.guards.loop, echoMinLength: minLength } },
      });
      const env = email({ body });
      const d = decide(input(env, { kind: 'effect' }), policy, createMemoryState());
      const echo = d.deltas.find((x) => x.kind === 'echo');
      expect(echo).toMatchObject({ mark: { effectId: env.id, effect: 'email.send' } });
      expect(echo?.kind === 'echo' && echo.mark.fingerprints.length).toBe(fingerprints);
    });

    it.each([
      { name: 'a message', env: envelope({ data: { text: BODY } }), kind: 'message', policy: testPolicy() },
      {
        name: 'a denied effect',
        env: email(),
        kind: 'effect',
        policy: testPolicy({ limits: [{ id: 'none', scope: 'mesh', intervalMs: 1, burst: 0, rate: '0/s' }] }),
      },
    ] as const)('leaves no mark for $name', ({ env, kind, policy }) => {
      const d = decide(input(env, { kind }), policy, createMemoryState());
      expect(d.deltas.filter((x) => x.kind === 'echo')).toEqual([]);
    });

    it('marks an effect held for approval', () => {
      const held = envelope({
        source: src('discount'),
        type: 'credit.issue',
        data: { amount: 60, memo: BODY },
      });
      const d = decide(input(held, { kind: 'effect' }), fullPolicy(), createMemoryState());
      expect(d.verdict.reason).toBe('approval.required');
      expect(d.deltas.map((x) => x.kind)).toEqual(['bucket', 'window', 'window', 'echo', 'hold-open']);
    });
  });

  it('returns only the stop site deltas when a breaker trips', () => {
    const store = createMemoryState();
    const credit = () => envelope({ source: src('discount'), type: 'credit.issue', data: { amount: 10 } });
    step(store, fullPolicy(), credit(), { kind: 'effect' });
    step(store, fullPolicy(), credit(), { kind: 'effect' });
    const d = step(store, fullPolicy(), credit(), { kind: 'effect' });
    expect(d.verdict).toMatchObject({ decision: 'hold', reason: 'breaker.tripped', rule: 'credit-burst' });
    expect(d.deltas.map((x) => x.kind)).toEqual(['breaker-open', 'hold-open']);
    expect(store.breaker(breakerKey('credit-burst', 'account:8841'))?.by).toBe('credit-burst');
  });

  it('opens a hold in state with its decision, and only a hold does', () => {
    const store = createMemoryState();
    const credit = (amount: number) =>
      envelope({ source: src('discount'), type: 'credit.issue', data: { amount } });
    const big = credit(60);
    const held = step(store, fullPolicy(), big, { kind: 'effect' });
    expect(held.verdict).toMatchObject({ decision: 'hold', reason: 'approval.required' });
    expect(held.deltas.at(-1)).toEqual({
      hold: {
        envelope: held.envelope,
        gated: 'effect',
        heldAt: NOW,
        msgId: big.id,
        subject: 'account:8841',
        verdict: held.verdict,
      },
      kind: 'hold-open',
    });
    expect(store.holds().map((h) => h.msgId)).toEqual([big.id]);
    const small = step(store, fullPolicy(), credit(5), { kind: 'effect' });
    expect(small.verdict.decision).toBe('deliver');
    expect(small.deltas.map((x) => x.kind)).not.toContain('hold-open');
    expect(store.holds().map((h) => h.msgId)).toEqual([big.id]);
  });

  it('lets a released message through the breaker that froze it, and counts it', () => {
    const store = createMemoryState();
    const credit = () => envelope({ source: src('discount'), type: 'credit.issue', data: { amount: 10 } });
    for (let i = 0; i < 3; i++) step(store, fullPolicy(), credit(), { kind: 'effect' });
    const frozen = decide(input(credit(), { kind: 'effect' }), fullPolicy(), store);
    expect(frozen.verdict).toMatchObject({ decision: 'hold', reason: 'breaker.frozen' });
    const released = decide(input(credit(), { kind: 'effect', release: true }), fullPolicy(), store);
    expect(released.verdict.decision).toBe('deliver');
    expect(released.deltas.map((x) => x.kind)).toEqual(['bucket', 'window', 'window', 'echo']);
  });

  it('remembers a released effect, so its echo is still caught', () => {
    const store = createMemoryState();
    store.apply([
      {
        key: breakerKey('pilot', 'account:8841'),
        kind: 'breaker-open',
        state: { state: 'open', action: 'freeze', openedAt: NOW, by: 'pilot:ana' },
      },
    ]);
    expect(decide(input(email(), { kind: 'effect' }), fullPolicy(), store).verdict.reason).toBe(
      'breaker.frozen',
    );
    const released = decide(input(email(), { kind: 'effect', release: true }), fullPolicy(), store);
    expect(released.verdict.decision).toBe('deliver');
    expect(released.deltas.map((x) => x.kind)).toContain('echo');
  });

  it('still applies budgets to a released message', () => {
    const store = createMemoryState();
    const big = envelope({ source: src('discount'), type: 'credit.issue', data: { amount: 1000 } });
    const released = decide(input(big, { kind: 'effect', release: true }), fullPolicy(), store);
    expect(released.verdict).toMatchObject({ decision: 'deny', stage: 'budget' });
  });
});

describe('decide never throws', () => {
  const policy = fullPolicy();
  const kind = fc.constantFrom('message' as const, 'effect' as const);

  it('for anything as candidate', () => {
    const store = createMemoryState();
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withBoxedValues: true,
          withDate: true,
          withMap: true,
          withNullPrototype: true,
          withSet: true,
          withSparseArray: true,
          withTypedArray: true,
        }),
        kind,
        fc.boolean(),
        (candidate, k, external) => {
          const d = decide(input(candidate, { kind: k, external }), policy, store);
          expectWellFormed(d);
          store.apply(d.deltas);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('for envelope-like records with arbitrary field values', () => {
    const hop = hopDigest('inbox', 'ticket.opened.v1', 'account:8841');
    const ids = Array.from({ length: 16 }, () => nextId());
    const combos = [
      { source: src('inbox'), type: 'ticket.opened.v1', kind: 'message', field: 'text' },
      { source: src('sentiment'), type: 'ticket.scored.v1', kind: 'message', field: 'score' },
      { source: src('churn'), type: 'churn.assessed.v1', kind: 'message', field: 'probability' },
      { source: src('discount'), type: 'credit.issue', kind: 'effect', field: 'amount' },
      { source: src('discount'), type: 'email.send', kind: 'effect', field: 'body' },
    ] as const;
    const KEYS = ['specversion', 'id', 'source', 'type', 'time', 'subject', 'data', 'correlationid'] as const;
    const MORE = [
      'causationid',
      'hop',
      'ancestry',
      'target',
      'signature',
      'policydigest',
      'Bad-Name',
    ] as const;
    // Mostly coherent envelopes (so that every stage is reached), with up to two fields replaced by anything.
    const candidate = fc.record({
      combo: fc.constantFrom(...combos),
      kind: fc.constantFrom('message' as const, 'effect' as const, undefined),
      subject: fc.constantFrom('account:8841', 'account:2'),
      id: fc.constantFrom(...ids),
      hop: fc.integer({ min: 0, max: 10 }),
      ancestry: fc.constantFrom('', hop, `${hop} ${hop}`, 'zz'),
      target: fc.constantFrom(undefined, undefined, 'churn', 'nobody'),
      value: fc.oneof(fc.constantFrom(BODY, 'short'), fc.integer({ min: -10, max: 120 }), fc.double()),
      overrides: fc.oneof(
        { arbitrary: fc.constant([]), weight: 2 },
        {
          arbitrary: fc.array(fc.tuple(fc.constantFrom(...KEYS, ...MORE), fc.anything()), { maxLength: 2 }),
          weight: 1,
        },
      ),
      external: fc.boolean(),
      dt: fc.integer({ min: 0, max: 3_600_000 }),
    });
    fc.assert(
      // A short sequence against a fresh store: later envelopes meet the state the earlier ones left.
      fc.property(fc.array(candidate, { minLength: 1, maxLength: 8 }), (cs) => {
        const store = createMemoryState();
        for (const c of cs) {
          const env: Record<string, unknown> = {
            ...envelope({
              id: c.id,
              source: c.combo.source,
              type: c.combo.type,
              subject: c.subject,
              hop: c.hop,
              ancestry: c.ancestry,
              data: { [c.combo.field]: c.value, memo: BODY },
            }),
            ...(c.target === undefined ? {} : { target: c.target }),
          };
          for (const [key, value] of c.overrides) env[key] = value;
          const k = c.kind ?? c.combo.kind;
          const d = decide(input(env, { kind: k, external: c.external, now: NOW + c.dt }), policy, store);
          expectWellFormed(d);
          store.apply(d.deltas);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
