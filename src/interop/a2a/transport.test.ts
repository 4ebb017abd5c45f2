import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Fastify from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentDefinition,
  type AgentSpec,
  ENTRY,
  type Envelope,
  type LedgerEntry,
  whyChain,
} from '../../runtime/index.js';
import {
  deadLetterCodes,
  entriesOf,
  failedCodes,
  meshWithAgent,
  sendEach,
  writeMeshDir,
} from '../mesh-test-kit.js';
import { type A2aPeer, closedPort, type PeerMode, startA2aPeer } from './test-kit.js';
import { createA2aTransport } from './transport.js';

const log = pino({ level: 'silent' });
const contracts = new URL('../../../examples/retention/contracts/', import.meta.url).pathname;
let peer: A2aPeer;

beforeAll(async () => {
  peer = await startA2aPeer();
});
afterAll(() => peer.close());

/**
 * The retention chain with `churn` behind A2A: local `sentiment` scores the ticket, the A2A agent
 * assesses churn, local `discount` consumes the assessment.
 */
function writeMesh(card = peer.cardUrl, auth?: string): string {
  return writeMeshDir({
    yaml: [
      'mesh: retention',
      'agents:',
      '  sentiment: { version: 1.4.0, module: ./agents/sentiment.mjs, consumes: [ticket.opened.v1], emits: [ticket.scored.v1] }',
      `  churn: { version: 2.0.1, a2a: '${card}', consumes: [ticket.scored.v1], emits: [churn.assessed.v1]${auth === undefined ? '' : `, auth: ${auth}`} }`,
      '  discount: { version: 1.1.0, module: ./agents/discount.mjs, consumes: [churn.assessed.v1] }',
      'ingress:',
      '  inbox: { emits: [ticket.opened.v1] }',
    ],
    contracts: Object.fromEntries(
      ['ticket.opened.v1', 'ticket.scored.v1', 'churn.assessed.v1'].map((type) => [
        type,
        readFileSync(join(contracts, `${type}.json`), 'utf8'),
      ]),
    ),
    agents: {
      'sentiment.mjs':
        "export default { handle(msg, ctx) { ctx.emit('ticket.scored.v1', { score: -0.4 }); } };",
      'discount.mjs': 'export default { handle() {} };',
    },
  });
}

/** Opens tickets in a fresh mesh, one after the other; returns the ledger and the first ticket's id. */
async function openTicket(meshDir: string, transport = createA2aTransport({ timeoutMs: 200 }), tickets = 1) {
  await using o = await meshWithAgent(meshDir, transport);
  const roots = await sendEach(
    o,
    'inbox',
    Array.from({ length: tickets }, (_, i) => ({
      type: 'ticket.opened.v1',
      subject: `account:884${i + 1}`,
      data: { text: 'I am leaving.' },
    })),
  );
  const entries = await entriesOf(o);
  const [assessed] = assessments(entries);
  const why = assessed === undefined ? undefined : await whyChain(o.ledger, assessed.msgId ?? '');
  return { entries, root: roots[0]!.msgId, why, verified: await o.ledger.verify() };
}

const envelopeOf = (e: LedgerEntry) => (e.data as { envelope: Envelope }).envelope;
const decisionsOf = (entries: LedgerEntry[], agent: string) =>
  entries.filter((e) => e.kind === ENTRY.decision && e.agent === agent);
/** Decisions on what the A2A agent answered. */
const assessments = (entries: LedgerEntry[]) => decisionsOf(entries, 'churn@2.0.1');
const verdictOf = (e: LedgerEntry) =>
  (e.data as { verdict: { decision: string; stage: string; reason: string } }).verdict;

describe('A2A agents (a2a:)', () => {
  it.each([
    ['message', 'a message with a typed data part'],
    ['task', 'a completed task whose artifact names no type'],
  ] as [PeerMode, string][])('gates and delivers what the agent answers: %s (%s)', async (mode) => {
    peer.mode = mode;
    peer.received.length = 0;
    peer.calls.length = 0;
    const { entries, root, why, verified } = await openTicket(writeMesh());
    const [assessed] = assessments(entries);
    expect(verdictOf(assessed!).decision).toBe('deliver');
    expect(assessed!.agent).toBe('churn@2.0.1');
    expect(envelopeOf(assessed!)).toMatchObject({
      type: 'churn.assessed.v1',
      subject: 'account:8841',
      data: { probability: 0.7 },
      hop: 2,
      correlationid: root,
      agentversion: '2.0.1',
    });
    expect(entries.some((e) => e.kind === ENTRY.delivered && e.agent === 'discount@1.1.0')).toBe(true);
    expect(why!.chain.map((l) => `${l.agent} ${l.type} ${l.verdict}`)).toEqual([
      'ingress:inbox ticket.opened.v1 deliver',
      'sentiment@1.4.0 ticket.scored.v1 deliver',
      'churn@2.0.1 churn.assessed.v1 deliver',
    ]);
    expect(verified.ok).toBe(true);
    expect(peer.calls).toEqual(['/a2a SendMessage']);
    // What the agent received: the scored ticket as data, the envelope in metadata, the case as context.
    const [scored] = decisionsOf(entries, 'sentiment@1.4.0').map(envelopeOf);
    const [received] = peer.received;
    expect(received).toMatchObject({ messageId: scored!.id, contextId: root });
    expect(received!.parts[0]!.content).toEqual({ $case: 'data', value: { score: -0.4 } });
    expect(received!.metadata).toMatchObject({
      type: 'ticket.scored.v1',
      subject: 'account:8841',
      id: scored!.id,
    });
  });

  it('denies an answer of a type the agent may not emit', async () => {
    peer.mode = 'wrong-type'; // ticket.scored.v1: a type of the mesh, but sentiment's, not churn's
    const [assessed] = assessments((await openTicket(writeMesh())).entries);
    expect(envelopeOf(assessed!).type).toBe('ticket.scored.v1');
    expect(verdictOf(assessed!).reason).toBe('authorization.not_emitter');
  });

  it('continues a task the agent paused for input with the next message of the case', async () => {
    peer.mode = 'input-required';
    peer.received.length = 0;
    const { entries } = await openTicket(writeMesh());
    expect(failedCodes(entries)).toEqual(['MW_INTEROP_A2A_INPUT_REQUIRED']);
    expect(verdictOf(assessments(entries)[0]!).decision).toBe('deliver');
    const [asked, answered] = peer.received;
    expect(asked!.taskId).not.toBe('');
    expect(answered!.taskId).toBe(asked!.taskId);
  });

  it('asks again, with GetTask, an agent that answers before its task is done', async () => {
    peer.mode = 'long';
    peer.calls.length = 0;
    peer.longMs = 50;
    const [assessed] = assessments((await openTicket(writeMesh())).entries);
    expect(envelopeOf(assessed!).data).toEqual({ probability: 0.7 });
    expect(peer.calls[0]).toBe('/a2a SendMessage');
    expect(peer.calls.slice(1).every((c) => c === '/a2a GetTask')).toBe(true);
    expect(peer.calls.length).toBeGreaterThan(1);
  });

  it('fails a try the task outlives, and the retry asks for that task instead of sending it again', async () => {
    peer.mode = 'long';
    peer.longMs = 700;
    peer.calls.length = 0;
    // The task takes 700 ms, a try 600: the first times out polling, the retry's GetTask finds it done.
    const transport = createA2aTransport({ timeoutMs: 600 });
    const { entries } = await openTicket(writeMesh(), transport);
    expect(failedCodes(entries)).toEqual(['MW_INTEROP_TIMEOUT']);
    expect(envelopeOf(assessments(entries)[0]!).data).toEqual({ probability: 0.7 });
    expect(peer.calls.filter((c) => c === '/a2a SendMessage')).toHaveLength(1);
  });

  it('sends the credential its auth names with every request, its card included', async () => {
    peer.mode = 'message';
    peer.apiKey = 'k-123';
    process.env.MW_TEST_CHURN_KEY = 'k-123';
    try {
      const auth = '{ env: MW_TEST_CHURN_KEY, header: X-Api-Key }';
      const [assessed] = assessments((await openTicket(writeMesh(peer.cardUrl, auth))).entries);
      expect(envelopeOf(assessed!).data).toEqual({ probability: 0.7 });
      expect(deadLetterCodes((await openTicket(writeMesh())).entries)).toEqual(['MW_INTEROP_A2A_CARD']);
    } finally {
      peer.apiKey = undefined;
    }
  });

  it("keeps the credential to the policy's origin, even when the card names an interface elsewhere", async () => {
    peer.mode = 'message';
    peer.apiKey = 'k-123';
    process.env.MW_TEST_CHURN_KEY = 'k-123';
    // A card served from another origin (a registry, a CDN) that points at the agent.
    const registry = Fastify();
    let cardAsked = '';
    registry.get('/churn.json', async (request) => {
      cardAsked = String(request.headers['x-api-key'] ?? '');
      peer.apiKey = undefined;
      const card = await (await fetch(peer.cardUrl)).json();
      peer.apiKey = 'k-123';
      return card;
    });
    await registry.listen({ port: 0, host: '127.0.0.1' });
    try {
      const at = `http://127.0.0.1:${(registry.server.address() as AddressInfo).port}/churn.json`;
      const auth = '{ env: MW_TEST_CHURN_KEY, header: X-Api-Key }';
      const { entries } = await openTicket(writeMesh(at, auth));
      expect(cardAsked).toBe('k-123');
      expect(assessments(entries)).toEqual([]);
      expect(deadLetterCodes(entries)).toEqual(['MW_INTEROP_HTTP_STATUS']);
    } finally {
      peer.apiKey = undefined;
      await registry.close();
    }
  });

  it.each([
    ['redirects the card elsewhere', 302, 'MW_INTEROP_REDIRECT', '[redacted: MW_TEST_CHURN_KEY]'],
    ['answers 404 quoting the key', 404, 'MW_INTEROP_A2A_CARD', '[redacted: MW_TEST_CHURN_KEY]'],
  ])(
    'dead-letters the message when the card URL %s, never recording the key',
    async (_, status, code, said) => {
      // A key whose URL and JSON spellings differ from it: + / = and capitals.
      process.env.MW_TEST_CHURN_KEY = 'Kx+9/Zq=';
      const registry = Fastify();
      registry.get('/churn.json', async (request, reply) => {
        const key = String(request.headers['x-api-key'] ?? '');
        // Percent-encoded in lower case, and JSON-escaped where JSON need not, as some servers write them.
        const path = encodeURIComponent(key).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
        if (status === 302) return reply.redirect(`https://login.example.com/${path}/card?k=${path}`, 302);
        const escaped = key.replace('+', '\\u002b').replace('/', '\\/');
        return reply.code(404).type('application/json').send(`{"message":"no card for ${escaped}"}`);
      });
      await registry.listen({ port: 0, host: '127.0.0.1' });
      try {
        const at = `http://127.0.0.1:${(registry.server.address() as AddressInfo).port}/churn.json`;
        const { entries } = await openTicket(writeMesh(at, '{ env: MW_TEST_CHURN_KEY, header: X-Api-Key }'));
        expect(deadLetterCodes(entries)).toEqual([code]);
        const recorded = JSON.stringify(entries);
        for (const form of ['Kx+9', 'Kx%2B9', 'kx%2b9', 'u002b9', 'Zq='])
          expect(recorded).not.toContain(form);
        expect(recorded).toContain(said);
      } finally {
        await registry.close();
      }
    },
  );

  it('keeps a paused task when the agent is connected again, as a policy reload does', async () => {
    peer.mode = 'input-required';
    peer.received.length = 0;
    const transport = createA2aTransport();
    const spec: AgentSpec = {
      name: 'churn',
      version: '2.0.1',
      a2a: peer.cardUrl,
      consumes: ['ticket.scored.v1'],
      emits: ['churn.assessed.v1'],
      effects: [],
    };
    const root = randomUUID();
    const scored = (): Envelope =>
      ({
        specversion: '1.0',
        id: randomUUID(),
        source: 'mesh://retention/sentiment@1.4.0',
        type: 'ticket.scored.v1',
        subject: 'account:8841',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        data: { score: -0.4 },
        correlationid: root,
        causationid: root,
        hop: 1,
      }) as Envelope;
    const ctx = {
      agent: 'churn',
      version: '2.0.1',
      attempt: 1,
      log,
      signal: new AbortController().signal,
      emit: () => '',
      effect: () => '',
      forward: () => '',
      note: () => {},
    };
    const before = transport.connect(spec) as AgentDefinition;
    await expect(before.handle(scored(), ctx)).rejects.toMatchObject({
      code: 'MW_INTEROP_A2A_INPUT_REQUIRED',
    });
    const after = transport.connect(spec) as AgentDefinition;
    await after.handle(scored(), ctx);
    const [asked, answered] = peer.received;
    expect(answered!.taskId).toBe(asked!.taskId);
  });

  it.each([
    ['failed', 'MW_INTEROP_A2A_FAILED'],
    ['rpc-error', 'MW_INTEROP_A2A_FAILED'],
    ['garbage', 'MW_INTEROP_A2A_BAD_REPLY'],
    ['too-big', 'MW_INTEROP_REPLY_TOO_BIG'],
    ['slow', 'MW_INTEROP_TIMEOUT'],
  ] as [PeerMode, string][])(
    'dead-letters the message when the agent answers %s (%s)',
    async (mode, code) => {
      peer.mode = mode;
      const transport = createA2aTransport({ timeoutMs: 200, maxReplyBytes: 2048 });
      const { entries } = await openTicket(writeMesh(), transport);
      expect(failedCodes(entries)).toEqual([code]);
      expect(deadLetterCodes(entries)).toEqual([code]);
      expect(assessments(entries)).toEqual([]);
    },
  );

  it.each([
    ['the agent is not running', 'closed', 'MW_INTEROP_UNREACHABLE'],
    ['the card URL is wrong', '/nope/agent-card.json', 'MW_INTEROP_A2A_CARD'],
    ['the URL serves no agent card', '/not-a-card.json', 'MW_INTEROP_A2A_CARD'],
  ])('dead-letters the message when %s', async (_, at, code) => {
    peer.mode = 'message';
    const card =
      at === 'closed'
        ? `http://127.0.0.1:${await closedPort()}/.well-known/agent-card.json`
        : new URL(at, peer.cardUrl).href;
    const { entries } = await openTicket(writeMesh(card));
    expect(deadLetterCodes(entries)).toEqual([code]);
  });

  it('stops calling an agent whose calls keep failing, but not one that asks for input', async () => {
    peer.mode = 'failed';
    const breaking = createA2aTransport({ timeoutMs: 200, breakAfter: 2, halfOpenAfterMs: 60_000 });
    const { entries } = await openTicket(writeMesh(), breaking, 3);
    expect(deadLetterCodes(entries)).toEqual([
      'MW_INTEROP_A2A_FAILED',
      'MW_INTEROP_CIRCUIT_OPEN',
      'MW_INTEROP_CIRCUIT_OPEN',
    ]);
    peer.mode = 'input-required';
    const asking = createA2aTransport({ timeoutMs: 200, breakAfter: 1 });
    expect(assessments((await openTicket(writeMesh(), asking, 2)).entries)).toHaveLength(2);
  });

  it('speaks A2A 0.3 to an agent whose card is a 0.3 card', async () => {
    peer.mode = 'message';
    peer.calls.length = 0;
    const [assessed] = assessments((await openTicket(writeMesh(peer.legacyCardUrl))).entries);
    expect(verdictOf(assessed!).decision).toBe('deliver');
    expect(envelopeOf(assessed!).data).toEqual({ probability: 0.7 });
    expect(peer.calls).toEqual(['/v03/a2a message/send']);
  });
});
