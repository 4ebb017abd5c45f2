import { describe, expect, it } from 'vitest';
import type { GatedKind } from '../../envelope/index.js';
import { decideOnce, envelope, src, testPolicy } from '../test-kit.js';

const policy = testPolicy();
const from = (agent: string, type: string, data: object, target?: string) =>
  envelope({ source: src(agent), type, data: data as never, ...(target === undefined ? {} : { target }) });

describe('authorization stage', () => {
  it.each([
    { name: 'ingress emits its type', env: envelope(), kind: 'message', reason: 'gate.admitted' },
    {
      name: 'agent emits its type',
      env: from('sentiment', 'ticket.scored.v1', { score: 1 }),
      kind: 'message',
      reason: 'gate.admitted',
    },
    {
      name: 'addressed to a consumer',
      env: from('sentiment', 'ticket.scored.v1', { score: 1 }, 'churn'),
      kind: 'message',
      reason: 'gate.admitted',
    },
    {
      name: 'allowed effect',
      env: from('discount', 'credit.issue', { amount: 5 }),
      kind: 'effect',
      reason: 'gate.admitted',
    },
    {
      name: 'a type no one knows',
      env: envelope({ type: 'weird.thing.v1' }),
      kind: 'message',
      reason: 'authorization.unknown_type',
    },
    {
      name: 'ingress emits a foreign type',
      env: envelope({ type: 'ticket.scored.v1', data: { score: 1 } }),
      kind: 'message',
      reason: 'authorization.not_emitter',
    },
    {
      name: 'agent emits a foreign type',
      env: from('sentiment', 'churn.assessed.v1', { probability: 1 }),
      kind: 'message',
      reason: 'authorization.not_emitter',
    },
    {
      name: 'agent sends an effect as a message',
      env: from('discount', 'credit.issue', { amount: 5 }),
      kind: 'message',
      reason: 'authorization.not_emitter',
    },
    {
      name: 'ingress requests an effect',
      env: envelope({ type: 'credit.issue', data: { amount: 5 } }),
      kind: 'effect',
      reason: 'authorization.ingress_effect',
    },
    {
      name: "effect not among the agent's",
      env: from('sentiment', 'credit.issue', { amount: 5 }),
      kind: 'effect',
      reason: 'authorization.effect_not_allowed',
    },
    {
      name: 'a message type as effect',
      env: from('discount', 'churn.assessed.v1', { probability: 1 }),
      kind: 'effect',
      reason: 'authorization.effect_not_allowed',
    },
    {
      name: 'unknown target',
      env: from('sentiment', 'ticket.scored.v1', { score: 1 }, 'nobody'),
      kind: 'message',
      reason: 'authorization.unknown_target',
    },
    {
      name: 'target does not consume',
      env: from('sentiment', 'ticket.scored.v1', { score: 1 }, 'discount'),
      kind: 'message',
      reason: 'authorization.target_not_consumer',
    },
  ])('$name → $reason', ({ env, kind, reason }) => {
    const d = decideOnce(env, policy, { kind: kind as GatedKind });
    expect(d.verdict.reason).toBe(reason);
    if (reason !== 'gate.admitted') {
      expect(d.verdict.stage).toBe('authorization');
      expect(d.verdict.decision).toBe(reason === 'authorization.unknown_type' ? 'quarantine' : 'deny');
    }
  });

  describe('a partner’s message', () => {
    // sentiment is exposed through inbox; churn consumes what sentiment emits but is not exposed.
    const agents = new Map(policy.agents);
    agents.set('sentiment', { ...policy.agents.get('sentiment')!, expose: { via: 'inbox' } });
    const exposing = testPolicy({ agents });
    it.each([
      {
        name: 'addressed to the agent exposed through its ingress',
        target: 'sentiment',
        reason: 'gate.admitted',
      },
      { name: 'published by type', target: undefined, reason: 'authorization.partner_not_exposed' },
      {
        name: 'addressed to an agent not exposed',
        target: 'churn',
        reason: 'authorization.partner_not_exposed',
      },
      // Not unknown_target: a partner learns nothing of which agents exist.
      { name: 'addressed to no agent at all', target: 'nobody', reason: 'authorization.partner_not_exposed' },
    ])('$name → $reason', ({ target, reason }) => {
      const env = envelope(target === undefined ? {} : { target });
      const d = decideOnce(env, exposing, { partner: true });
      expect(d.verdict.reason).toBe(reason);
      if (reason !== 'gate.admitted') expect(d.verdict.decision).toBe('deny');
    });

    it('is refused through an ingress the exposed agent does not name as via', () => {
      const other = new Map(exposing.ingress);
      other.set('webhook', { name: 'webhook', emits: ['ticket.opened.v1'] });
      const env = envelope({ source: src('webhook'), target: 'sentiment' });
      const d = decideOnce(env, testPolicy({ agents, ingress: other }), { partner: true });
      expect(d.verdict.reason).toBe('authorization.partner_not_exposed');
    });

    it.each([
      { name: 'a type nobody knows', env: envelope({ type: 'weird.thing.v1' }) },
      {
        name: 'a type its ingress does not emit',
        env: envelope({ type: 'ticket.scored.v1', data: { score: 1 } }),
      },
    ])('is refused the same way for $name, so a partner cannot map the types', ({ env }) => {
      expect(decideOnce(env, exposing, { partner: true }).verdict.reason).toBe(
        'authorization.partner_not_exposed',
      );
    });

    it('is the same message a pilot may publish by type', () => {
      expect(decideOnce(envelope(), exposing).verdict.reason).toBe('gate.admitted');
    });
  });

  it('knows a declared type that has no contract', () => {
    const contracts = new Map([...policy.contracts].filter(([t]) => t !== 'ticket.opened.v1'));
    expect(decideOnce(envelope(), testPolicy({ contracts })).verdict.reason).toBe('gate.admitted');
  });
});
