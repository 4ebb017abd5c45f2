/**
 * The retention scenario of DESIGN.md, through decide and the memory store only: a confirmation
 * email comes back as a new ticket, is linked to the effect that sent it, and the third ticket of
 * the loop is stopped and freezes the account, while another account flows untouched.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope, GatedKind, JsonValue } from '../envelope/index.js';
import { breakerKey, createMemoryState, LOOP_BREAKER } from '../state/index.js';
import { child, envelope, fullPolicy, MIN, NOW, src, step } from './test-kit.js';
import type { Decision } from './types.js';

const policy = fullPolicy();
const ACCOUNT = 'account:8841';
const OTHER = 'account:2';
const confirmation = (subject: string) => `We have credited 25 EUR to ${subject}. Sorry for the trouble!`;

describe('retention loop', () => {
  const store = createMemoryState();
  let now = NOW;

  function gate(candidate: Envelope, kind: GatedKind = 'message', external = false): Decision {
    now += MIN;
    return step(store, policy, candidate, { kind, external, now });
  }

  /** A ticket from the inbox ingress: a root with its own id, as received from outside. */
  function ticket(subject: string, text: string): Decision {
    return gate(envelope({ source: src('inbox'), subject, data: { text } }), 'message', true);
  }

  /** The agents' reaction to an admitted ticket: scored → assessed → credit + email. */
  function react(
    admitted: Envelope,
    next: (env: Envelope, agent: string, type: string, data: JsonValue) => Envelope,
  ) {
    const scored = gate(next(admitted, 'sentiment', 'ticket.scored.v1', { score: -0.8 }));
    const assessed = gate(next(scored.envelope!, 'churn', 'churn.assessed.v1', { probability: 0.9 }));
    const credit = gate(next(assessed.envelope!, 'discount', 'credit.issue', { amount: 25 }), 'effect');
    const body = confirmation(admitted.subject);
    const email = gate(
      next(assessed.envelope!, 'discount', 'email.send', { to: 'c@example.com', body }),
      'effect',
    );
    return { scored, assessed, credit, email };
  }

  it('links the echo, stops the third ticket and freezes only that account', () => {
    const next = (env: Envelope, agent: string, type: string, data: JsonValue) =>
      child(env, agent, type, data);
    const reasons = (ds: Decision[]) => ds.map((d) => d.verdict.reason);

    // Round 1: a genuine complaint.
    const first = ticket(ACCOUNT, 'My invoice is wrong again and nobody answers!');
    const root = first.envelope!;
    const r1 = react(root, next);
    const otherRoot = ticket(OTHER, 'Where is my parcel? It has been two weeks.');
    const o1 = react(otherRoot.envelope!, next);
    expect(reasons([first, r1.scored, r1.assessed, r1.credit, r1.email])).toEqual(
      Array(5).fill('gate.admitted'),
    );
    expect(r1.email.envelope).toMatchObject({ hop: 3, correlationid: root.id });

    // Round 2: the confirmation email lands in the inbox as a new ticket and is linked back.
    const second = ticket(ACCOUNT, `Re: ${confirmation(ACCOUNT)}`);
    expect(second.verdict.reason).toBe('gate.admitted');
    expect(second.link?.effectId).toBe(r1.email.envelope!.id);
    expect(second.envelope).toMatchObject({
      correlationid: root.id,
      causationid: r1.email.envelope!.id,
      hop: 4,
    });
    const r2 = react(second.envelope!, next);
    expect(reasons([r2.scored, r2.assessed, r2.credit, r2.email])).toEqual(Array(4).fill('gate.admitted'));
    expect(r2.credit.envelope).toMatchObject({ correlationid: root.id, hop: 7 });

    // Round 3: the same echo again is the same hop a second time in the chain.
    const third = ticket(ACCOUNT, `RE: Re: ${confirmation(ACCOUNT)}`);
    expect(third.verdict).toMatchObject({
      decision: 'hold',
      stage: 'loop',
      reason: 'loop.repeated_hop',
      rule: LOOP_BREAKER,
    });
    expect(third.link?.effectId).toBe(r2.email.envelope!.id);
    expect(third.envelope).toMatchObject({ correlationid: root.id, hop: 8 });
    expect(store.breaker(breakerKey(LOOP_BREAKER, ACCOUNT))).toMatchObject({
      state: 'open',
      action: 'freeze',
      by: LOOP_BREAKER,
    });

    // The account is frozen: even an unrelated ticket waits for a pilot.
    const after = ticket(ACCOUNT, 'Unrelated: please update my postal address.');
    expect(after.verdict).toMatchObject({ decision: 'hold', reason: 'breaker.frozen', rule: LOOP_BREAKER });

    // The other account, flowing at the same time, is untouched.
    const o2 = ticket(OTHER, 'Still no parcel, can you check with the courier?');
    const o2r = react(o2.envelope!, next);
    const others = [
      otherRoot,
      o1.scored,
      o1.assessed,
      o1.credit,
      o1.email,
      o2,
      o2r.scored,
      o2r.assessed,
      o2r.credit,
      o2r.email,
    ];
    expect(reasons(others)).toEqual(Array(10).fill('gate.admitted'));
    expect(others.every((d) => d.link === undefined)).toBe(true);
    expect(store.openBreakers().map((b) => b.key)).toEqual([breakerKey(LOOP_BREAKER, ACCOUNT)]);
  });
});
