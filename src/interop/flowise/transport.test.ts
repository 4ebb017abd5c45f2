import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ENTRY, type LedgerEntry, whyChain } from '../../runtime/index.js';
import { DEAD_LETTERING } from '../json-http/test-kit.js';
import {
  deadLetterCodes,
  decisionsOf,
  entriesOf,
  meshWithAgent,
  sendEach,
  writeMeshDir,
} from '../mesh-test-kit.js';
import {
  type FlowiseStandIn,
  jsonTextFlow,
  startFlowiseStandIn,
  TRIAGE_FLOW,
  triageFlow,
} from './test-kit.js';
import { createFlowiseTransport } from './transport.js';

const _log = pino({ level: 'silent' });
let flowise: FlowiseStandIn;

beforeAll(async () => {
  flowise = await startFlowiseStandIn();
});
afterAll(() => flowise.close());
beforeEach(() => {
  flowise.mode = 'ok';
  flowise.apiKey = undefined;
  flowise.raw = undefined;
  flowise.received.length = 0;
  flowise.flows.set(TRIAGE_FLOW, triageFlow);
});

/** The issue's example: `triage` is a Flowise flow between an ingress and a local sink. */
function writeMesh(
  opts: { request?: string; reply?: string; auth?: string; flow?: string; timeout?: string } = {},
): string {
  const schema = (props: object, required: string[]) =>
    JSON.stringify({ type: 'object', properties: props, required });
  return writeMeshDir({
    yaml: [
      'mesh: t',
      'agents:',
      '  triage:',
      '    version: 1.0.0',
      // The credential inside `flowise:`, as the issue writes it.
      `    flowise: { url: ${flowise.url}, flow: ${opts.flow ?? TRIAGE_FLOW}${opts.auth === undefined ? '' : `, auth: ${opts.auth}`}${opts.timeout === undefined ? '' : `, timeout: ${opts.timeout}`} }`,
      '    consumes: [ticket.opened.v1]',
      '    emits: [ticket.triaged.v1]',
      ...(opts.request === undefined ? [] : [`    request: ${opts.request}`]),
      `    reply: ${opts.reply ?? "{ type: ticket.triaged.v1, data: { label: '{{ json.label }}', reason: '{{ text }}' } }"}`,
      '  sink: { version: 1.0.0, module: ./agents/sink.mjs, consumes: [ticket.triaged.v1] }',
      'ingress:',
      '  inbox: { emits: [ticket.opened.v1] }',
    ],
    contracts: {
      'ticket.opened.v1': schema({ text: { type: 'string' } }, ['text']),
      'ticket.triaged.v1': schema({ label: { enum: ['billing', 'general'] }, reason: { type: 'string' } }, [
        'label',
      ]),
    },
    agents: { 'sink.mjs': 'export default { handle() {} };' },
  });
}

/** Sends one ticket through a fresh mesh and returns the ledger entries. */
async function sendTicket(
  meshDir: string,
  transport = createFlowiseTransport({ timeoutMs: 1000, maxReplyBytes: 4096 }),
): Promise<LedgerEntry[]> {
  await using o = await meshWithAgent(meshDir, transport);
  await sendEach(o, 'inbox', [
    {
      type: 'ticket.opened.v1',
      subject: 'account:8841',
      data: { text: 'I was charged twice, please refund' },
    },
  ]);
  return await entriesOf(o);
}

const triaged = (entries: LedgerEntry[]) =>
  decisionsOf(entries).filter((d) => d.envelope.type === 'ticket.triaged.v1');
const root = (entries: LedgerEntry[]) =>
  decisionsOf(entries).find((d) => d.envelope.type === 'ticket.opened.v1')!;

describe('Flowise agents (flowise:)', () => {
  it('asks the flow with the mapped question, in the case’s conversation, and gates the mapped answer', async () => {
    process.env.MW_TEST_FLOWISE_KEY = 'fl0w-key';
    flowise.apiKey = 'fl0w-key';
    const entries = await sendTicket(
      writeMesh({ request: "{ question: '{{ data.text }}' }", auth: '{ env: MW_TEST_FLOWISE_KEY }' }),
    );
    const [answer] = triaged(entries);
    expect(answer?.verdict.reason).toBe('gate.admitted');
    expect(answer?.envelope).toMatchObject({
      data: { label: 'billing', reason: 'This ticket is about billing.' },
      subject: 'account:8841',
      hop: 1,
    });
    expect(entries.some((e) => e.kind === ENTRY.delivered && e.agent === 'sink@1.0.0')).toBe(true);
    const ticket = root(entries).envelope;
    const [request] = flowise.received;
    expect(request?.path).toBe(`/api/v1/prediction/${TRIAGE_FLOW}`);
    // The conversation is the case: chatId and sessionId are the correlation id.
    expect(request?.body).toEqual({
      question: 'I was charged twice, please refund',
      streaming: false,
      chatId: ticket.correlationid,
      overrideConfig: { sessionId: ticket.correlationid },
    });
    expect(request?.headers.authorization).toBe('Bearer fl0w-key');
    expect(request?.headers['idempotency-key']).toBe(ticket.id);
    expect(request?.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(JSON.stringify(entries)).not.toContain('fl0w-key');
  });

  it('asks the data’s JSON text by default, and keeps a session the mapping sets', async () => {
    await sendTicket(writeMesh());
    expect(flowise.received[0]?.body).toMatchObject({
      question: '{"text":"I was charged twice, please refund"}',
    });
    await sendTicket(
      writeMesh({ request: "{ question: '{{ data.text }}', overrideConfig: { sessionId: 'fixed' } }" }),
    );
    expect(flowise.received[1]?.body).toMatchObject({ overrideConfig: { sessionId: 'fixed' } });
  });

  it('reads JSON the flow wrote as its text when it has no structured output', async () => {
    // As an agentflow answers an object its Custom Function returned (Flowise 3.1.4).
    flowise.flows.set(TRIAGE_FLOW, jsonTextFlow({ label: 'general' }));
    const entries = await sendTicket(writeMesh({ reply: "{ type: ticket.triaged.v1, data: '{{ json }}' }" }));
    expect(triaged(entries)[0]?.envelope.data).toEqual({ label: 'general' });
  });

  it('maps the subject when the reply names one', async () => {
    const reply =
      "{ type: ticket.triaged.v1, subject: 'case:{{ message.subject }}', data: { label: '{{ json.label }}' } }";
    const [answer] = triaged(await sendTicket(writeMesh({ reply })));
    expect(answer?.envelope).toMatchObject({ subject: 'case:account:8841', data: { label: 'billing' } });
  });

  it.each(DEAD_LETTERING)(
    'dead-letters a ticket whose flow answers %s (%s), after %i tries',
    async (mode, code, tries) => {
      flowise.mode = mode;
      const entries = await sendTicket(writeMesh());
      expect(deadLetterCodes(entries)).toEqual([code]);
      expect(flowise.received).toHaveLength(tries);
      expect(entries.filter((e) => e.kind === ENTRY.deliveryFailed)).toHaveLength(tries - 1);
      expect(triaged(entries)).toEqual([]);
    },
  );

  it.each([
    ['an unknown chatflow (404)', { flow: '00000000-0000-4000-8000-000000000000' }],
    ['a chatflow id that is not one (400)', { flow: 'gone' }],
    ['no API key (500 in Flowise 3.1.4)', { key: 'needed' }],
  ])('dead-letters a ticket the server refuses: %s', async (_, o: { flow?: string; key?: string }) => {
    flowise.apiKey = o.key;
    const entries = await sendTicket(writeMesh(o.flow === undefined ? {} : { flow: o.flow }));
    expect(deadLetterCodes(entries)).toEqual(['MW_INTEROP_HTTP_STATUS']);
    // Refused the same way on every try: one try, no retry.
    expect(flowise.received).toHaveLength(1);
    expect(entries.filter((e) => e.kind === ENTRY.deliveryFailed)).toEqual([]);
  });

  it.each([
    ['gives up after the policy’s timeout, naming where to change it', '200ms', 5000, 'MW_INTEROP_TIMEOUT'],
    ['waits as long as the policy’s timeout, past the default', '10s', 200, undefined],
  ])('a slow flow: %s', async (_, timeout, defaultMs, code) => {
    flowise.mode = 'slow';
    flowise.slowMs = 1000;
    const transport = createFlowiseTransport({ timeoutMs: defaultMs, maxReplyBytes: 4096 });
    const entries = await sendTicket(writeMesh({ timeout }), transport);
    flowise.slowMs = 2500;
    const dead = entries.filter((e) => e.kind === ENTRY.deadLetter);
    const errors = dead.map((e) => (e.data as { error: { code: string; message: string } }).error);
    expect(errors.map((e) => e.code)).toEqual(code === undefined ? [] : [code]);
    if (code !== undefined) expect(errors[0]?.message).toContain('agents.triage.flowise.timeout');
    else expect(triaged(entries).map((d) => d.verdict.reason)).toEqual(['gate.admitted']);
  });

  it('sends the same idempotency key on every try of one delivery', async () => {
    flowise.mode = 'fail-once';
    const entries = await sendTicket(writeMesh());
    expect(triaged(entries).map((d) => d.verdict.reason)).toEqual(['gate.admitted']);
    const keys = flowise.received.map((r) => r.headers['idempotency-key']);
    expect(keys).toEqual([root(entries).envelope.id, root(entries).envelope.id]);
  });

  it('emits nothing for an empty answer (204), and records the delivery', async () => {
    flowise.mode = 'empty';
    const entries = await sendTicket(writeMesh());
    expect(triaged(entries)).toEqual([]);
    expect(deadLetterCodes(entries)).toEqual([]);
    const delivered = entries.find((e) => e.kind === ENTRY.delivered && e.agent === 'triage@1.0.0');
    expect(delivered?.data).toEqual({ attempt: 1, note: { text: 'it answered with an empty body' } });
  });

  it("records the answer of a flow no reply's `when` held for, in its delivery, which why shows", async () => {
    const reply =
      '{ when: \'{{ json.label = "spam" }}\', type: ticket.triaged.v1, data: { label: general } }';
    await using o = await meshWithAgent(
      writeMesh({ reply }),
      createFlowiseTransport({ timeoutMs: 1000, maxReplyBytes: 4096 }),
    );
    const [ticket] = await sendEach(o, 'inbox', [
      { type: 'ticket.opened.v1', subject: 'account:8841', data: { text: 'I was charged twice' } },
    ]);
    expect(triaged(await entriesOf(o))).toEqual([]);
    const note = {
      text: "no reply's when held for its answer (HTTP 200)",
      evidence: expect.stringContaining('billing'),
    };
    const why = await whyChain(o.ledger, ticket?.msgId ?? '');
    expect(why?.chain[0]?.outcomes).toEqual([
      expect.objectContaining({ kind: ENTRY.delivered, agent: 'triage@1.0.0', note }),
    ]);
  });

  it('quarantines an answer its reply mapping cannot map, naming the pointer', async () => {
    // Text around a site that gives nothing is an error (an object member would just be left out).
    flowise.flows.set(TRIAGE_FLOW, () => ({ text: 'no idea' }));
    const entries = await sendTicket(
      writeMesh({ reply: "{ type: ticket.triaged.v1, data: { label: 'is {{ json.label }}' } }" }),
    );
    const [answer] = triaged(entries);
    expect(answer?.verdict).toMatchObject({
      decision: 'quarantine',
      stage: 'envelope',
      reason: 'envelope.unmapped',
    });
    expect(answer?.verdict.issues).toEqual([{ pointer: '/reply/data/label', message: expect.any(String) }]);
    // The answer as it came is kept for review.
    expect(answer?.envelope.data).toEqual({ text: 'no idea' });
  });

  it('names the pointer as written when the reply is a list of one', async () => {
    flowise.flows.set(TRIAGE_FLOW, () => ({ text: 'no idea' }));
    const entries = await sendTicket(
      writeMesh({ reply: "[{ type: ticket.triaged.v1, data: { label: 'is {{ json.label }}' } }]" }),
    );
    const [answer] = triaged(entries);
    expect(answer?.verdict.reason).toBe('envelope.unmapped');
    expect(answer?.verdict.issues).toEqual([{ pointer: '/reply/0/data/label', message: expect.any(String) }]);
  });

  it('dead-letters a ticket its request mapping cannot map at once, without calling the flow', async () => {
    const entries = await sendTicket(writeMesh({ request: "{ question: 'Q: {{ data.missing }}' }" }));
    expect(deadLetterCodes(entries)).toEqual(['MW_INTEROP_MAPPING']);
    expect(flowise.received).toEqual([]);
    // It would fail the same way again: no retry, so no failed try before the dead letter.
    expect(entries.filter((e) => e.kind === ENTRY.deliveryFailed)).toEqual([]);
    const dead = entries.find((e) => e.kind === ENTRY.deadLetter);
    expect(dead?.data).toMatchObject({ attempt: 1 });
  });

  it('dead-letters a ticket whose question gives nothing (a typo in the name it reads), never asking the flow nothing', async () => {
    const entries = await sendTicket(writeMesh({ request: "{ question: '{{ data.txt }}' }" }));
    expect(deadLetterCodes(entries)).toEqual(['MW_INTEROP_MAPPING']);
    expect(flowise.received).toEqual([]);
    const dead = entries.find((e) => e.kind === ENTRY.deadLetter)?.data as { error: { message: string } };
    expect(dead.error.message).toContain('/request/question');
  });

  it('quarantines a mapped answer that breaks its contract', async () => {
    flowise.flows.set(TRIAGE_FLOW, () => ({ text: 'x', json: { label: 'spam' } }));
    const [answer] = triaged(await sendTicket(writeMesh()));
    expect(answer?.verdict).toMatchObject({ decision: 'quarantine', stage: 'contract' });
  });

  it('dead-letters a prediction whose JSON holds a number JSON cannot hold (1e400), naming its pointer', async () => {
    flowise.raw = '{"text": "scored", "json": {"label": "billing", "score": 1e400}}';
    const entries = await sendTicket(writeMesh());
    expect(deadLetterCodes(entries)).toEqual(['MW_INTEROP_BAD_REPLY']);
    const dead = entries.find((e) => e.kind === ENTRY.deadLetter)?.data as { error: { message: string } };
    expect(dead.error.message).toContain('/json/score');
    expect(triaged(entries)).toEqual([]);
  });

  it('reads JSON text holding such a number as text only, and records the emission that needed its JSON', async () => {
    const text = '{"label": "general", "score": 1e400}';
    flowise.flows.set(TRIAGE_FLOW, () => ({ text }));
    const entries = await sendTicket(writeMesh({ reply: "{ type: ticket.triaged.v1, data: '{{ json }}' }" }));
    const [answer] = triaged(entries);
    expect(answer?.verdict.reason).toBe('envelope.unmapped');
    expect(answer?.envelope.data).toEqual({ text });
  });

  it('quarantines an answer without the member the contract requires as unmapped, keeping the answer', async () => {
    // `label` is required by ticket.triaged.v1; a flow that answers only prose gives none.
    flowise.flows.set(TRIAGE_FLOW, () => ({ text: 'no idea' }));
    const [answer] = triaged(await sendTicket(writeMesh()));
    expect(answer?.verdict).toMatchObject({ decision: 'quarantine', reason: 'envelope.unmapped' });
    expect(answer?.verdict.issues).toEqual([{ pointer: '/reply/data/label', message: expect.any(String) }]);
    expect(answer?.envelope.data).toEqual({ text: 'no idea' });
  });
});
