import { randomUUID } from 'node:crypto';
import type { Msg } from '@nats-io/transport-node';
import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runtimeError } from './errors.js';
import { natsAdmin } from './jetstream-test-kit.js';
import { batches, openNatsReplies, replySubject } from './replies.js';

// Replies between nodes over the real NATS server (127.0.0.1:4222): batched for a node that asks,
// one message each for a node that does not (an earlier version), and read in both forms.

const admin = natsAdmin();

/** A node's reply channel and what it settled, by ticket. */
function openNode(mesh: string, node: string) {
  const settled = new Map<number, PromiseSettledResult<unknown>>();
  const errors: unknown[] = [];
  const channel = openNatsReplies({
    connection: admin.connection(),
    mesh,
    node,
    settle: (ticket, outcome) => {
      outcome.then(
        (value) => settled.set(ticket, { status: 'fulfilled', value }),
        (reason: unknown) => settled.set(ticket, { status: 'rejected', reason }),
      );
    },
    onError: (err) => errors.push(err),
  });
  onTestFinished(() => channel.close());
  return { channel, settled, errors };
}

/** Every raw message on `node`'s reply subject, as an earlier version's reader would see them. */
function tap(mesh: string, node: string): Msg[] {
  const seen: Msg[] = [];
  const sub = admin.connection().subscribe(replySubject(mesh, node), {
    callback: (_err, msg) => {
      seen.push(msg);
    },
  });
  onTestFinished(() => sub.unsubscribe());
  return seen;
}

const until = async (done: () => boolean) => {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(done()).toBe(true);
};

describe('replies between nodes', () => {
  it('sends a node that asks for batches the replies of one turn in one message, values and typed errors intact', async () => {
    const mesh = `test-${randomUUID().slice(0, 8)}`;
    const owner = openNode(mesh, 'owner');
    const sender = openNode(mesh, 'sender');
    const raw = tap(mesh, 'sender');
    await admin.connection().flush();
    const failure = runtimeError('MW_RUNTIME_ID_READ', { id: 'x', cause: 'connection reset' });
    for (let t = 1; t <= 50; t++) {
      owner.channel.send('sender', t, t === 7 ? Promise.reject(failure) : Promise.resolve({ n: t }), true);
    }
    await until(() => sender.settled.size === 50);
    expect(raw).toHaveLength(1);
    expect(sender.settled.get(3)).toEqual({ status: 'fulfilled', value: { n: 3 } });
    expect(sender.settled.get(7)).toMatchObject({
      status: 'rejected',
      reason: { code: 'MW_RUNTIME_ID_READ', message: failure.message },
    });
    expect(sender.errors).toEqual([]);
  });

  it('sends a node that does not ask (an earlier version) each reply alone, as that version reads them', async () => {
    const mesh = `test-${randomUUID().slice(0, 8)}`;
    const owner = openNode(mesh, 'owner');
    const raw = tap(mesh, 'old');
    await admin.connection().flush();
    for (let t = 1; t <= 3; t++) owner.channel.send('old', t, Promise.resolve(t));
    await until(() => raw.length === 3);
    expect(raw.map((m) => m.json())).toEqual([
      { t: 1, v: 1 },
      { t: 2, v: 2 },
      { t: 3, v: 3 },
    ]);
  });

  it('reads a reply alone, as an earlier version sends it, beside batches', async () => {
    const mesh = `test-${randomUUID().slice(0, 8)}`;
    const sender = openNode(mesh, 'sender');
    await admin.connection().flush();
    const subject = replySubject(mesh, 'sender');
    admin.connection().publish(subject, JSON.stringify({ t: 1, v: 'alone' }));
    admin.connection().publish(
      subject,
      JSON.stringify([
        { t: 2, v: 'batched' },
        { t: 3, v: null },
      ]),
    );
    await until(() => sender.settled.size === 3);
    expect([...sender.settled.entries()].sort(([a], [b]) => a - b)).toEqual([
      [1, { status: 'fulfilled', value: 'alone' }],
      [2, { status: 'fulfilled', value: 'batched' }],
      [3, { status: 'fulfilled', value: null }],
    ]);
  });

  it('reports a batch member that is not a reply, and settles the others', async () => {
    const mesh = `test-${randomUUID().slice(0, 8)}`;
    const sender = openNode(mesh, 'sender');
    await admin.connection().flush();
    const subject = replySubject(mesh, 'sender');
    admin.connection().publish(subject, JSON.stringify([{ t: 1, v: 1 }, null, 7, { t: 3, v: 3 }]));
    admin.connection().publish(subject, JSON.stringify({ t: 4, v: 4 }));
    await until(() => sender.settled.size === 3);
    expect([...sender.settled.keys()]).toEqual([1, 3, 4]);
    expect(sender.errors).toHaveLength(2);
  });

  it('reports an outcome with no JSON form instead of failing the process; the rest still go', async () => {
    const mesh = `test-${randomUUID().slice(0, 8)}`;
    const owner = openNode(mesh, 'owner');
    const sender = openNode(mesh, 'sender');
    await admin.connection().flush();
    owner.channel.send('sender', 1, Promise.resolve({ n: 1n }), true);
    owner.channel.send('sender', 2, Promise.resolve({ n: 1n }), false);
    owner.channel.send('sender', 3, Promise.resolve('fine'), true);
    await until(() => sender.settled.size === 1);
    expect(sender.settled.get(3)).toEqual({ status: 'fulfilled', value: 'fine' });
    expect(owner.errors.map((e) => (e as Error).name)).toEqual(['TypeError', 'TypeError']);
  });

  it('sends what is batched when it closes', async () => {
    const mesh = `test-${randomUUID().slice(0, 8)}`;
    const owner = openNode(mesh, 'owner');
    const raw = tap(mesh, 'sender');
    await admin.connection().flush();
    owner.channel.send('sender', 1, Promise.resolve('last'), true);
    await Promise.resolve(); // the outcome settled, its batch not yet sent
    await owner.channel.close();
    await admin.connection().flush();
    await until(() => raw.length === 1);
    expect(raw[0]!.json()).toEqual([{ t: 1, v: 'last' }]);
  });
});

describe('batches', () => {
  it('packs texts into JSON arrays of at most maxBytes, a text too big for that alone and as it is', () => {
    const texts = ['{"t":1}', '{"t":2}', `{"t":3,"v":"${'x'.repeat(100)}"}`, '{"t":4}'];
    const packed = batches(texts, 60);
    expect(packed.map((b) => JSON.parse(b))).toEqual([
      [{ t: 1 }, { t: 2 }],
      { t: 3, v: 'x'.repeat(100) },
      [{ t: 4 }],
    ]);
    expect(batches(texts, 1_000_000)).toEqual([`[${texts.join(',')}]`]);
    expect(batches([], 100)).toEqual([]);
  });

  it('keeps every text, in order, and no array past maxBytes, whatever the script', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { maxLength: 30 }),
        fc.integer({ min: 4, max: 200 }),
        (values, maxBytes) => {
          const texts = values.map((v, t) => JSON.stringify({ t, v }));
          const packed = batches(texts, maxBytes);
          const back = packed.flatMap((b) => {
            const parsed: unknown = JSON.parse(b);
            if (Array.isArray(parsed)) expect(Buffer.byteLength(b)).toBeLessThanOrEqual(maxBytes);
            return Array.isArray(parsed) ? parsed : [parsed];
          });
          expect(back).toEqual(values.map((v, t) => ({ t, v })));
        },
      ),
    );
  });
});
