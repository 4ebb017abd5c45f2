/**
 * Linking what comes back through an ingress to the effect that caused it: a `causationid` claim
 * (checked, never trusted blindly), an executor's reply token, and the fuzzy echo with its
 * configurable minimum length. Pure: a memory store with marks and a fixed NOW.
 */
import { describe, expect, it } from 'vitest';
import { hopDigest, type JsonValue } from '../../envelope/index.js';
import { createMemoryState, type EchoMark, echoFingerprints, type StateDelta } from '../../state/index.js';
import { DAY, decideOnce, envelope, HOUR, NOW, src, testPolicy } from '../test-kit.js';

const ACCOUNT = 'account:8841';
const OTHER = 'account:1';
const COMMIT = 'a1b2c3d4e5f6'; // a 12-character commit id: too short for the default fuzzy echo
const EFFECT = '01972b5c-ee00-7000-8000-00000000e001';
const inboxHop = hopDigest('inbox', 'ticket.opened.v1', ACCOUNT);
const discountHop = hopDigest('discount', 'email.send', ACCOUNT);

const base = testPolicy();
const withMin = (echoMinLength: number) =>
  testPolicy({ guards: { ...base.guards, loop: { ...base.guards.loop, echoMinLength } } });

const mark = (over: Partial<EchoMark> = {}): EchoMark => ({
  ancestry: `${inboxHop} ${discountHop}`,
  at: NOW - HOUR,
  correlationid: 'case-1',
  effect: 'email.send',
  effectId: EFFECT,
  fingerprints: echoFingerprints({ sha: COMMIT }, 12),
  hop: 3,
  ...over,
});

/** A store holding one effect mark for `subject`, with its executor's reply token when given. */
function store(opts: { subject?: string; at?: number; token?: string; over?: Partial<EchoMark> } = {}) {
  const s = createMemoryState();
  const subject = opts.subject ?? ACCOUNT;
  const deltas: StateDelta[] = [
    { kind: 'echo', subject, mark: mark({ at: opts.at ?? NOW - HOUR, ...opts.over }) },
  ];
  if (opts.token !== undefined)
    deltas.push({ kind: 'reply-token', subject, effectId: EFFECT, token: opts.token });
  s.apply(deltas);
  return s;
}

const ticket = (data: JsonValue, causationid?: string) =>
  envelope({
    data: { text: 'x', ...(data as object) },
    ...(causationid === undefined ? {} : { causationid }),
  });

describe('linking by causationid', () => {
  it('links a claim naming an effect admitted for the same subject within the window', () => {
    const d = decideOnce(ticket({}, EFFECT), base, { store: store() });
    expect(d.verdict.reason).toBe('gate.admitted');
    expect(d.link).toEqual({ effect: 'email.send', effectId: EFFECT, via: 'causationid' });
    expect(d.envelope).toMatchObject({ causationid: EFFECT, correlationid: 'case-1', hop: 4 });
    expect(d.unverifiedCausation).toBeUndefined();
  });

  it.each([
    { name: 'a made-up id', claim: '01972b5c-ee00-7000-8000-0000000dead1', s: () => store() },
    { name: 'an effect of another subject', claim: EFFECT, s: () => store({ subject: OTHER }) },
    { name: 'an effect past the echo window', claim: EFFECT, s: () => store({ at: NOW - DAY - 1 }) },
    { name: 'no effects at all', claim: EFFECT, s: () => createMemoryState() },
    { name: 'a non-UUID text', claim: COMMIT, s: () => store({ token: COMMIT }) },
  ])('quarantines a claim naming $name, and takes it out of the envelope', ({ claim, s }) => {
    const d = decideOnce(ticket({ sha: COMMIT }, claim), base, { store: s() });
    expect(d.verdict).toMatchObject({
      decision: 'quarantine',
      stage: 'loop',
      reason: 'loop.unverified_causation',
    });
    expect(d.link).toBeUndefined();
    expect(d.unverifiedCausation).toBe(claim);
    expect(d.envelope?.causationid).toBeUndefined();
    expect(d.envelope?.hop).toBe(0);
    expect(d.deltas.every((x) => x.kind === 'seen')).toBe(true);
  });

  it('leaves a released message as it was linked, even when a newer effect now matches it', () => {
    const s = store();
    s.apply([{ kind: 'echo', subject: ACCOUNT, mark: mark({ effectId: 'newer', at: NOW - 1 }) }]);
    const linked = { ...ticket({ sha: COMMIT }, EFFECT), hop: 4 };
    const d = decideOnce(linked, withMin(12), { store: s, release: true });
    expect(d.verdict.decision).toBe('deliver');
    expect(d.envelope?.causationid).toBe(EFFECT);
    expect(d.link).toBeUndefined();
    const expired = decideOnce(linked, base, { store: createMemoryState(), release: true });
    expect(expired.envelope?.causationid).toBe(EFFECT);
  });

  it('feeds the loop guard: a claim into a chain that already went through the inbox is a repeat', () => {
    const s = store({ over: { ancestry: `${inboxHop} ${discountHop} ${inboxHop}` } });
    const d = decideOnce(ticket({}, EFFECT), base, { store: s });
    expect(d.verdict.reason).toBe('loop.repeated_hop');
    expect(d.link?.via).toBe('causationid');
  });
});

describe('linking by reply token', () => {
  it.each<{ name: string; data: JsonValue; s: () => ReturnType<typeof store>; via?: string }>([
    {
      name: 'the token as a whole value',
      data: { sha: COMMIT },
      s: () => store({ token: COMMIT }),
      via: 'reply-token',
    },
    {
      name: 'the token as a word in a text',
      data: { note: `Deploy of ${COMMIT} finished.` },
      s: () => store({ token: COMMIT }),
      via: 'reply-token',
    },
    {
      name: 'the token inside a longer id',
      data: { sha: `${COMMIT}99ff` },
      s: () => store({ token: COMMIT }),
    },
    {
      name: 'the token in another case',
      data: { sha: COMMIT.toUpperCase() },
      s: () => store({ token: COMMIT }),
    },
    {
      name: 'a token of another subject',
      data: { sha: COMMIT },
      s: () => store({ subject: OTHER, token: COMMIT }),
    },
    {
      name: 'a token past the window',
      data: { sha: COMMIT },
      s: () => store({ at: NOW - DAY - 1, token: COMMIT }),
    },
    { name: 'no token returned', data: { sha: COMMIT }, s: () => store() },
  ])('$name → $via', ({ data, s, via }) => {
    const d = decideOnce(ticket(data), base, { store: s() });
    expect(d.verdict.decision).toBe('deliver');
    expect(d.link?.via).toBe(via);
    if (via !== undefined) {
      expect(d.link).toEqual({ effect: 'email.send', effectId: EFFECT, token: COMMIT, via });
      expect(d.envelope).toMatchObject({ causationid: EFFECT, hop: 4 });
    } else {
      expect(d.envelope?.causationid).toBeUndefined();
    }
  });

  it('ignores a token set on a mark that expired (no mark, no-op)', () => {
    const s = createMemoryState();
    s.apply([{ kind: 'reply-token', subject: ACCOUNT, effectId: EFFECT, token: COMMIT }]);
    expect(s.echoes(ACCOUNT)).toEqual([]);
  });
});

describe('fuzzy echo: echoMinLength', () => {
  it.each([
    { name: 'default 16: a 12-character id is not compared', policy: base, via: undefined },
    { name: 'echoMinLength 12: it is', policy: withMin(12), via: 'echo' },
    { name: 'echoMinLength 13: too short again', policy: withMin(13), via: undefined },
  ])('$name', ({ policy, via }) => {
    const d = decideOnce(ticket({ sha: `  ${COMMIT.toUpperCase()} ` }), policy, { store: store() });
    expect(d.link?.via).toBe(via);
    if (via !== undefined) expect(d.link?.fingerprint).toBe(mark().fingerprints[0]);
  });

  it('names the effect type on an echo link, and not for marks recorded before types were kept', () => {
    const { effect: _effect, ...old } = mark();
    const s = createMemoryState();
    s.apply([{ kind: 'echo', subject: ACCOUNT, mark: old }]);
    const d = decideOnce(ticket({ sha: COMMIT }), withMin(12), { store: s });
    expect(d.link).toEqual({ effectId: EFFECT, fingerprint: old.fingerprints[0], via: 'echo' });
  });

  it('prefers the reply token over the echo of the same effect', () => {
    const d = decideOnce(ticket({ sha: COMMIT }), withMin(12), { store: store({ token: COMMIT }) });
    expect(d.link?.via).toBe('reply-token');
  });

  it('does not link an agent message, only ingress ones', () => {
    const d = decideOnce(
      envelope({ source: src('sentiment'), type: 'ticket.scored.v1', data: { score: 1, sha: COMMIT } }),
      withMin(12),
      { store: store({ token: COMMIT }) },
    );
    expect(d.link).toBeUndefined();
  });
});

describe('a causationid claim on a message stopped before the link check', () => {
  it.each([
    {
      name: 'a type nobody knows (authorization)',
      fields: { type: 'weird.thing.v1' },
      reason: 'authorization.unknown_type',
    },
    {
      name: 'a contract break',
      fields: { data: { nope: 1 } as JsonValue },
      reason: 'contract.invalid_payload',
    },
    { name: 'an unknown target', fields: { target: 'nobody' }, reason: 'authorization.unknown_target' },
  ])('$name: kept out of the envelope, recorded beside it', ({ fields, reason }) => {
    const d = decideOnce(envelope({ causationid: EFFECT, ...fields }), base, { store: store() });
    expect(d.verdict.reason).toBe(reason);
    expect(d.envelope?.causationid).toBeUndefined();
    expect(d.unverifiedCausation).toBe(EFFECT);
  });

  it("leaves an agent's causation, which the runtime set, where it is", () => {
    const env = envelope({
      source: src('sentiment'),
      type: 'ticket.scored.v1',
      data: { nope: 1 },
      causationid: EFFECT,
    });
    const d = decideOnce(env, base);
    expect(d.envelope?.causationid).toBe(EFFECT);
    expect(d.unverifiedCausation).toBeUndefined();
  });
});
