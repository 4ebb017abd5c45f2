import { describe, expect, it } from 'vitest';
import type { Envelope } from '../envelope/index.js';
import type { Verdict } from '../gate/index.js';
import type { DecisionData } from './records.js';
import { asGiven, replayInput } from './replay-input.js';

const NOW = 1_800_000_000_000;
const ROOT: Envelope = {
  correlationid: 'r1',
  data: { text: 'hello' },
  datacontenttype: 'application/json',
  hop: 0,
  id: 'r1',
  source: 'mesh://m/inbox',
  specversion: '1.0',
  subject: 'account:1',
  time: '2027-01-15T08:00:00.000Z',
  type: 'ticket.opened.v1',
};
const verdict = (decision: Verdict['decision'], reason: string, detail = ''): Verdict => ({
  decision,
  stage: reason.split('.')[0] as Verdict['stage'],
  reason,
  detail,
});
const data = (over: Partial<DecisionData>): DecisionData => ({
  gated: 'message',
  verdict: verdict('deliver', 'gate.admitted'),
  ...over,
});

describe('replayInput', () => {
  it('takes the policy digest the gate set off a delivered envelope', () => {
    const input = replayInput(data({ envelope: { ...ROOT, policydigest: 'sha256:x' } }), NOW);
    expect(input).toMatchObject({ kind: 'gate', input: { candidate: ROOT, now: NOW, external: false } });
  });

  it.each([
    ['causationid', { effectId: 'e1', via: 'causationid' as const }, { causationid: 'e1' }],
    ['echo', { effectId: 'e1', fingerprint: 'f', via: 'echo' as const }, {}],
    ['reply-token', { effectId: 'e1', token: 'abcdef', via: 'reply-token' as const }, {}],
  ])('makes a root the gate linked by %s a root again', (_via, link, extra) => {
    const linked = { ...ROOT, causationid: 'e1', correlationid: 'c0', hop: 3, ancestry: 'aa bb' };
    expect(asGiven(linked, { link })).toEqual({ ...ROOT, ...extra });
  });

  it('puts back a causation the gate could not verify', () => {
    expect(asGiven(ROOT, { unverifiedCausation: 'x9' })).toEqual({ ...ROOT, causationid: 'x9' });
  });

  it('knows an id from outside by the seen delta, or by a duplicate the dedupe window caught', () => {
    const seen = replayInput(data({ envelope: ROOT, deltas: [{ kind: 'seen', id: 'r1', at: NOW }] }), NOW);
    expect(seen).toMatchObject({ input: { external: true } });
    const dup = replayInput(
      data({ envelope: ROOT, verdict: verdict('deny', 'envelope.duplicate_id', 'received 1 s ago') }),
      NOW,
    );
    expect(dup).toMatchObject({ input: { external: true } });
  });

  it.each([
    ['envelope.id_taken', 'runtime-fact'],
    ['envelope.late_emit', 'runtime-fact'],
    ['envelope.unmapped', 'runtime-fact'],
    ['envelope.not_json', 'runtime-fact'],
  ])('keeps %s as recorded', (reason, why) => {
    expect(replayInput(data({ envelope: ROOT, verdict: verdict('quarantine', reason) }), NOW)).toEqual({
      kind: 'kept',
      why,
    });
  });

  it('keeps a duplicate of an id the ledger held, and input that never became an envelope', () => {
    const taken = verdict(
      'deny',
      'envelope.duplicate_id',
      'Message id r1 already names a message in the ledger; …',
    );
    expect(replayInput(data({ envelope: ROOT, verdict: taken }), NOW)).toEqual({
      kind: 'kept',
      why: 'runtime-fact',
    });
    const ingress = { ...verdict('quarantine', 'ingress.not_json'), stage: 'ingress' as const };
    expect(replayInput(data({ verdict: ingress, raw: '{', rawBytes: 1 }), NOW)).toEqual({
      kind: 'kept',
      why: 'no-envelope',
    });
  });

  it('decides a malformed envelope again from its text when the ledger kept all of it', () => {
    const raw = JSON.stringify({ id: 'q1', type: 5 });
    const input = replayInput(
      data({ verdict: verdict('quarantine', 'envelope.malformed'), raw, rawBytes: raw.length }),
      NOW,
    );
    expect(input).toMatchObject({
      kind: 'gate',
      input: { candidate: { id: 'q1', type: 5 }, size: raw.length },
    });
    const cut = replayInput(
      data({ verdict: verdict('quarantine', 'envelope.too_large'), raw: raw.slice(0, 5), rawBytes: 9000 }),
      NOW,
    );
    expect(cut).toEqual({ kind: 'kept', why: 'no-envelope' });
  });
});
