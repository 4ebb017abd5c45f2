import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type Envelope, signEnvelope } from '../../envelope/index.js';
import { createMemoryState } from '../../state/index.js';
import { child, decideOnce, envelope, HOUR, NOW, nextId, src, step, testPolicy } from '../test-kit.js';
import type { GateInput } from '../types.js';

const keys = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const publicKey = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const base = testPolicy();
const signing = testPolicy({
  agents: new Map([...base.agents].map(([n, a]) => [n, n === 'sentiment' ? { ...a, publicKey } : a])),
});
const OK = 'gate.admitted';
const DUP = 'envelope.duplicate_id';
const scored = envelope({ source: src('sentiment'), type: 'ticket.scored.v1', data: { score: 0.2 } });

describe('envelope stage', () => {
  it.each([
    { name: 'a well-formed ingress envelope', candidate: envelope(), size: 200, reason: 'gate.admitted' },
    { name: 'not an object', candidate: 'hello', size: 7, reason: 'envelope.malformed' },
    { name: 'missing attributes', candidate: { specversion: '1.0' }, size: 20, reason: 'envelope.malformed' },
    { name: 'too large', candidate: envelope(), size: 65_537, reason: 'envelope.too_large' },
    {
      name: 'another mesh',
      candidate: envelope({ source: 'mesh://other/inbox' }),
      size: 200,
      reason: 'envelope.foreign_mesh',
    },
    {
      name: 'agent at another version',
      candidate: { ...scored, source: 'mesh://retention/sentiment@1.3.9' },
      size: 200,
      reason: 'envelope.version_mismatch',
    },
    {
      name: 'agent without version',
      candidate: { ...scored, source: 'mesh://retention/sentiment' },
      size: 200,
      reason: 'envelope.version_mismatch',
    },
    {
      name: 'versioned ingress',
      candidate: envelope({ source: 'mesh://retention/inbox@1.0.0' }),
      size: 200,
      reason: 'envelope.ingress_versioned',
    },
    {
      name: 'unknown source',
      candidate: envelope({ source: 'mesh://retention/stranger@1.0.0' }),
      size: 200,
      reason: 'envelope.unknown_source',
    },
  ])('$name → $reason', ({ candidate, size, reason }) => {
    const d = decideOnce(candidate, base, { size });
    expect(d.verdict.reason).toBe(reason);
    expect(d.verdict.detail).not.toBe('');
    if (reason !== 'gate.admitted') {
      expect(d.verdict.stage).toBe('envelope');
      expect(d.verdict.decision).toBe('quarantine');
    }
  });

  it('lists every shape issue with a pointer', () => {
    const d = decideOnce({ ...envelope(), hop: -1, id: 'nope' });
    expect(d.verdict.issues?.map((i) => i.pointer).sort()).toEqual(['/hop', '/id']);
    expect(d.envelope).toBeUndefined();
  });

  it.each([
    { name: 'validly signed', candidate: signEnvelope(scored, keys.privateKey), reason: 'gate.admitted' },
    { name: 'unsigned', candidate: scored, reason: 'envelope.signature_missing' },
    {
      name: 'signed by another key',
      candidate: signEnvelope(scored, other.privateKey),
      reason: 'envelope.signature_invalid',
    },
    {
      name: 'altered after signing',
      candidate: { ...signEnvelope(scored, keys.privateKey), subject: 'account:1' },
      reason: 'envelope.signature_invalid',
    },
    {
      name: 'unsigned, from an agent without a key',
      candidate: envelope({ source: src('churn'), type: 'churn.assessed.v1', data: { probability: 1 } }),
      reason: 'gate.admitted',
    },
  ])('signature: $name → $reason', ({ candidate, reason }) => {
    expect(decideOnce(candidate, signing).verdict.reason).toBe(reason);
  });

  describe('duplicate ids', () => {
    const env = envelope();
    it.each([
      {
        name: 'external, seen an hour ago',
        external: true,
        seenAt: NOW - HOUR,
        reason: 'envelope.duplicate_id',
        decision: 'deny',
      },
      {
        name: 'external, seen exactly a window ago',
        external: true,
        seenAt: NOW - 24 * HOUR,
        reason: 'envelope.duplicate_id',
        decision: 'deny',
      },
      {
        name: 'external, seen before the window',
        external: true,
        seenAt: NOW - 24 * HOUR - 1,
        reason: 'gate.admitted',
        decision: 'deliver',
      },
      {
        name: 'external, never seen',
        external: true,
        seenAt: undefined,
        reason: 'gate.admitted',
        decision: 'deliver',
      },
      {
        name: 'internal ids are not checked',
        external: false,
        seenAt: NOW - HOUR,
        reason: 'gate.admitted',
        decision: 'deliver',
      },
    ])('$name → $reason', ({ external, seenAt, reason, decision }) => {
      const store = createMemoryState();
      if (seenAt !== undefined) store.apply([{ kind: 'seen', id: env.id, at: seenAt }]);
      const d = decideOnce(env, base, { external, store });
      expect(d.verdict.reason).toBe(reason);
      expect(d.verdict.decision).toBe(decision);
    });

    // The first envelope's verdict, then an admissible external envelope reusing its id.
    it.each<{ name: string; first: Envelope; external: boolean; reason: string; again: string }>([
      { name: 'admitted', first: envelope(), external: true, reason: 'gate.admitted', again: DUP },
      {
        name: 'denied by authorization',
        first: envelope({ type: 'ticket.scored.v1', data: { score: 1 } }),
        external: true,
        reason: 'authorization.not_emitter',
        again: DUP,
      },
      {
        name: 'quarantined by its contract',
        first: envelope({ data: { text: 42 } }),
        external: true,
        reason: 'contract.invalid_payload',
        again: DUP,
      },
      {
        name: 'quarantined as a versioned ingress',
        first: envelope({ source: 'mesh://retention/inbox@1.0.0' }),
        external: true,
        reason: 'envelope.ingress_versioned',
        again: OK,
      },
      {
        name: 'quarantined as an unknown source',
        first: envelope({ source: 'mesh://retention/stranger' }),
        external: true,
        reason: 'envelope.unknown_source',
        again: OK,
      },
      { name: 'internal', first: envelope(), external: false, reason: 'gate.admitted', again: OK },
    ])('an id first $name (external: $external) → $again on reuse', ({ first, external, reason, again }) => {
      const store = createMemoryState();
      expect(step(store, base, first, { external }).verdict.reason).toBe(reason);
      const reuse = envelope({ id: first.id, correlationid: first.id });
      const d = step(store, base, reuse, { external: true, now: NOW + HOUR });
      expect(d.verdict.reason).toBe(again);
    });

    it.each([
      { external: true, seen: [{ kind: 'seen', id: env.id, at: NOW }] },
      { external: false, seen: [] },
    ])('an admitted envelope (external: $external) records its id', ({ external, seen }) => {
      expect(decideOnce(env, base, { external }).deltas.filter((d) => d.kind === 'seen')).toEqual(seen);
    });

    it('a stopped external envelope records its id too, and a duplicate does not renew it', () => {
      const store = createMemoryState();
      const bad = envelope({ data: { text: 42 } });
      const d = step(store, base, bad, { external: true });
      expect(d.deltas).toEqual([{ kind: 'seen', id: bad.id, at: NOW }]);
      const dup = step(store, base, bad, { external: true, now: NOW + HOUR });
      expect(dup.verdict.reason).toBe(DUP);
      expect(dup.deltas).toEqual([]);
      expect(store.seen(bad.id)).toBe(NOW);
    });
  });

  // What only the runtime knows: a taken id, a remote's claims, a late emission. The envelope the
  // runtime built is otherwise admissible, so each fact alone makes the stop.
  describe("the runtime's facts", () => {
    const root = envelope();
    const answer = child(root, 'sentiment', 'ticket.scored.v1', { score: 0.2 });
    const taken = nextId(NOW - HOUR);
    it.each<{
      name: string;
      candidate: Envelope;
      facts: Partial<GateInput>;
      reason: string;
      decision: string;
      detail: string;
    }>([
      {
        name: 'an ingress id the ledger holds',
        candidate: root,
        facts: { takenId: taken },
        reason: DUP,
        decision: 'deny',
        detail: `Message id ${taken} already names a message in the ledger; each message needs an id of its own.`,
      },
      {
        name: "an agent's event id the ledger holds",
        candidate: answer,
        facts: { takenId: taken },
        reason: 'envelope.id_taken',
        decision: 'quarantine',
        detail: `Agent sentiment answered with an event whose id ${taken} already names another message in the ledger.`,
      },
      {
        name: 'a claimed source of another agent',
        candidate: answer,
        facts: { claimed: { source: src('churn') } },
        reason: 'envelope.source_mismatch',
        decision: 'quarantine',
        detail: `Agent sentiment answered with an event claiming source ${src('churn')}; it may only speak as ${answer.source}.`,
      },
      {
        name: 'a claimed causation of another message',
        candidate: answer,
        facts: { claimed: { causationid: taken } },
        reason: 'envelope.causation_mismatch',
        decision: 'quarantine',
        detail: `Agent sentiment answered message ${root.id} with an event caused by ${taken}.`,
      },
      {
        name: 'an emission after the handler returned',
        candidate: answer,
        facts: { late: true },
        reason: 'envelope.late_emit',
        decision: 'quarantine',
        detail: `agent sentiment emitted ticket.scored.v1 after its handler for message ${root.id} had returned; handlers must emit before they return.`,
      },
      {
        name: 'a reply mapping that failed',
        candidate: answer,
        facts: { unmapped: { pointer: '/reply/data/label', problem: 'gives nothing' } },
        reason: 'envelope.unmapped',
        decision: 'quarantine',
        detail: `Agent sentiment answered message ${root.id}, but its reply mapping failed at /reply/data/label: gives nothing.`,
      },
      {
        name: 'claims that are the truth',
        candidate: answer,
        facts: { claimed: { source: answer.source, causationid: root.id } },
        reason: OK,
        decision: 'deliver',
        detail: 'ticket.scored.v1 from sentiment for account:8841 passed every guard.',
      },
    ])('$name → $reason', ({ candidate, facts, reason, decision, detail }) => {
      const d = decideOnce(candidate, base, facts);
      expect(d.verdict).toMatchObject({ decision, reason, detail });
      if (reason !== OK) {
        expect(d.verdict.stage).toBe('envelope');
        // Stopped before the id is remembered, and recorded with the envelope as built.
        expect(d.deltas).toEqual([]);
        expect(d.envelope?.id).toBe(candidate.id);
      }
    });

    it('stops on facts before the size guard, and in the order the runtime checked them', () => {
      const all = {
        takenId: taken,
        claimed: { source: src('churn'), causationid: taken },
        late: true,
      } as const;
      expect(decideOnce(answer, base, { ...all, size: 65_537 }).verdict.reason).toBe('envelope.id_taken');
      const { takenId: _, ...claims } = all;
      expect(decideOnce(answer, base, claims).verdict.reason).toBe('envelope.source_mismatch');
      expect(decideOnce(answer, base, { claimed: { causationid: taken }, late: true }).verdict.reason).toBe(
        'envelope.causation_mismatch',
      );
    });

    it('names where a reply mapping failed, after the other facts', () => {
      const unmapped = { pointer: '/reply/0/when', problem: 'expects a number' };
      const d = decideOnce(answer, base, { unmapped });
      expect(d.verdict.issues).toEqual([{ pointer: '/reply/0/when', message: 'expects a number' }]);
      expect(decideOnce(answer, base, { unmapped, late: true }).verdict.reason).toBe('envelope.late_emit');
    });

    it('leaves a malformed envelope to the shape check', () => {
      expect(decideOnce({ specversion: '1.0' }, base, { late: true }).verdict.reason).toBe(
        'envelope.malformed',
      );
    });

    // A candidate the runtime could not measure is refused before any check walks it: a cycle here
    // would overflow the shape check, and one too deep would overflow JSON.stringify.
    it('refuses input nested too deep with the pointer, unwalked', () => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const d = decideOnce(cyclic, base, { size: 0, unreadable: { nestedAt: '/data/a/b' } });
      expect(d.verdict).toMatchObject({
        decision: 'quarantine',
        stage: 'envelope',
        reason: 'envelope.too_deep',
        detail: 'The message nests deeper than 64 levels (at /data/a/b).',
        issues: [{ pointer: '/data/a/b', message: 'nested deeper than 64 levels' }],
      });
      expect(d.deltas).toEqual([]);
      expect(d.envelope).toBeUndefined();
    });

    it('refuses input with no JSON form, saying why', () => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const d = decideOnce(cyclic, base, { size: 0, unreadable: { notJson: 'a cycle at /self' } });
      expect(d.verdict).toMatchObject({
        decision: 'quarantine',
        stage: 'envelope',
        reason: 'envelope.not_json',
        detail: 'The envelope has no canonical JSON form: a cycle at /self.',
      });
      expect(d.envelope).toBeUndefined();
    });
  });
});
