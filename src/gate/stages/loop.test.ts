import { describe, expect, it } from 'vitest';
import { hopDigest } from '../../envelope/index.js';
import { breakerKey, createMemoryState, type EchoMark, LOOP_BREAKER } from '../../state/index.js';
import { DAY, decideOnce, envelope, HOUR, NOW, src, testPolicy } from '../test-kit.js';

const policy = testPolicy();
const denying = testPolicy({ guards: { ...policy.guards, loop: { ...policy.guards.loop, action: 'deny' } } });
const inboxHop = hopDigest('inbox', 'ticket.opened.v1', 'account:8841');
const other = hopDigest('sentiment', 'ticket.scored.v1', 'account:8841');
const BODY = 'We have credited your account with 25 EUR, sorry for the trouble.';
const mark: EchoMark = {
  fingerprints: ['0000000000000000', '6f1a2b3c4d5e6f70'],
  effectId: 'effect-1',
  correlationid: 'case-1',
  hop: 3,
  ancestry: `${inboxHop} ${other}`,
  at: NOW - HOUR,
};

function withMark(at = mark.at, subject = 'account:8841', body = BODY) {
  const store = createMemoryState();
  const probe = decideOnce(
    envelope({ source: src('discount'), type: 'email.send', data: { body } }),
    policy,
    {
      kind: 'effect',
    },
  );
  const fingerprints = probe.deltas.flatMap((d) => (d.kind === 'echo' ? d.mark.fingerprints : []));
  store.apply([{ kind: 'echo', subject, mark: { ...mark, fingerprints, at } }]);
  return store;
}

describe('loop stage', () => {
  it.each([
    { name: 'hop at the limit', fields: { hop: 8 }, p: policy, reason: 'gate.admitted', decision: 'deliver' },
    {
      name: 'hop past the limit, freeze',
      fields: { hop: 9 },
      p: policy,
      reason: 'loop.too_many_hops',
      decision: 'hold',
    },
    {
      name: 'hop past the limit, deny',
      fields: { hop: 9 },
      p: denying,
      reason: 'loop.too_many_hops',
      decision: 'deny',
    },
    {
      name: 'seen once before',
      fields: { ancestry: `${inboxHop} ${other}` },
      p: policy,
      reason: 'gate.admitted',
      decision: 'deliver',
    },
    {
      name: 'repeated, freeze',
      fields: { ancestry: `${inboxHop} ${other} ${inboxHop}` },
      p: policy,
      reason: 'loop.repeated_hop',
      decision: 'hold',
    },
    {
      name: 'repeated, deny',
      fields: { ancestry: `${inboxHop} ${inboxHop}` },
      p: denying,
      reason: 'loop.repeated_hop',
      decision: 'deny',
    },
  ])('$name → $reason', ({ fields, p, reason, decision }) => {
    const d = decideOnce(envelope(fields), p);
    expect(d.verdict).toMatchObject({ reason, decision });
    const freezes = d.deltas.filter((x) => x.kind === 'breaker-open');
    if (decision === 'hold') {
      expect(d.verdict.rule).toBe(LOOP_BREAKER);
      expect(freezes).toEqual([
        {
          kind: 'breaker-open',
          key: breakerKey(LOOP_BREAKER, 'account:8841'),
          state: { state: 'open', action: 'freeze', openedAt: NOW, by: LOOP_BREAKER },
        },
      ]);
    } else {
      expect(freezes).toEqual([]);
    }
  });

  it('does not re-open a loop freeze that is already open', () => {
    const store = createMemoryState();
    const key = breakerKey(LOOP_BREAKER, 'account:8841');
    store.apply([
      { kind: 'breaker-open', key, state: { state: 'open', action: 'freeze', openedAt: 1, by: 'loop' } },
    ]);
    const d = decideOnce(envelope({ hop: 9 }), policy, { store });
    expect(d.verdict.reason).toBe('loop.too_many_hops');
    // Only the hold itself: no second freeze.
    expect(d.deltas.map((x) => x.kind)).toEqual(['hold-open']);
  });

  describe('echo detection', () => {
    it('re-links an ingress message that repeats a recent effect', () => {
      const d = decideOnce(envelope({ data: { text: `Re: ${BODY}` } }), policy, { store: withMark() });
      expect(d.verdict.reason).toBe('gate.admitted');
      expect(d.link?.effectId).toBe('effect-1');
      expect(d.envelope).toMatchObject({
        causationid: 'effect-1',
        correlationid: 'case-1',
        hop: 4,
        ancestry: mark.ancestry,
      });
    });

    it.each([
      { name: 'mark outside the window', store: () => withMark(NOW - DAY - 1), fields: {} },
      { name: 'mark for another subject', store: () => withMark(mark.at, 'account:1'), fields: {} },
      {
        name: 'different text',
        store: () => withMark(mark.at, 'account:8841', 'Something else entirely, long enough'),
        fields: {},
      },
      {
        name: 'source is an agent, not an ingress',
        store: () => withMark(),
        fields: { source: src('sentiment'), type: 'ticket.scored.v1' },
      },
    ])('leaves it alone: $name', ({ store, fields }) => {
      const d = decideOnce(envelope({ data: { text: BODY, score: 1 }, ...fields }), policy, {
        store: store(),
      });
      expect(d.link).toBeUndefined();
      expect(d.envelope?.hop).toBe(0);
    });

    it('checks repetition on the re-linked ancestry', () => {
      const store = withMark();
      const looped = store.echoes('account:8841').map((m) => ({ ...m, ancestry: `${inboxHop} ${inboxHop}` }));
      const again = createMemoryState();
      again.apply(looped.map((m) => ({ kind: 'echo', subject: 'account:8841', mark: m })));
      const d = decideOnce(envelope({ data: { text: BODY } }), policy, { store: again });
      expect(d.verdict.reason).toBe('loop.repeated_hop');
      expect(d.link?.effectId).toBe('effect-1');
      expect(d.envelope?.correlationid).toBe('case-1');
    });

    it('checks the hop limit on the re-linked hop', () => {
      const store = createMemoryState();
      const [m] = withMark().echoes('account:8841');
      store.apply([{ kind: 'echo', subject: 'account:8841', mark: { ...m!, hop: 8 } }]);
      expect(decideOnce(envelope({ data: { text: BODY } }), policy, { store }).verdict.reason).toBe(
        'loop.too_many_hops',
      );
    });
  });
});
