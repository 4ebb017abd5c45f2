/**
 * `flowise:` agents against a real Flowise 3 server (npm `flowise`), with the model-free flows
 * scripts/flowise-peer.sh creates: echo (Start → Direct Reply "echo: {{ question }}"), json (a
 * Custom Function returning an object), fail (one that throws), keyed (echo behind an API key).
 * Run with `npm run test:flowise`; src/interop/flowise/transport.test.ts covers the same transport
 * against a loopback stand-in in every `npm test`.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createFlowiseTransport } from '../../src/interop/index.js';
import {
  type AgentTransport,
  ENTRY,
  type Envelope,
  isMeshwardenError,
  type LedgerEntry,
  type MeshwardenError,
  openMesh,
} from '../../src/runtime/index.js';

const peer = inject('flowise');
const log = pino({ level: 'silent' });
const TEXT = 'I was charged twice, please refund';
const KEY_ENV = 'MW_FLOWISE_REAL_KEY';

const root = mkdtempSync(join(tmpdir(), 'meshwarden-flowise-real-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  delete process.env[KEY_ENV];
});

/** A mesh whose `triage` agent is a flow of the real server, between an ingress and a sink. */
type MeshOptions = {
  readonly flow: string;
  /** The server's base URL (default: the peer's). */
  readonly url?: string;
  /** The reply mapping; without one, and with `defaults`, the agent uses the default mappings. */
  readonly reply?: string;
  /** Leaves out the request mapping (by default it asks `data.text`). */
  readonly defaults?: true;
  /** The schema of ticket.answered.v1, the type the reply mapping emits. */
  readonly answered: object;
  readonly auth?: boolean;
};

function writeMesh(o: MeshOptions): string {
  const dir = mkdtempSync(join(root, 'mesh-'));
  mkdirSync(join(dir, 'contracts'));
  mkdirSync(join(dir, 'agents'));
  const auth = o.auth ? `, auth: { env: ${KEY_ENV} }` : '';
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: flowise-real',
      'agents:',
      '  triage:',
      '    version: 1.0.0',
      `    flowise: { url: ${o.url ?? peer.url}, flow: ${o.flow}${auth} }`,
      '    consumes: [ticket.opened.v1]',
      '    emits: [ticket.answered.v1]',
      ...(o.defaults ? [] : ["    request: { question: '{{ data.text }}' }"]),
      ...(o.reply === undefined ? [] : [`    reply: ${o.reply}`]),
      '  sink: { version: 1.0.0, module: ./agents/sink.mjs, consumes: [ticket.answered.v1] }',
      'ingress:',
      '  inbox: { emits: [ticket.opened.v1] }',
    ].join('\n'),
  );
  const opened = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] };
  writeFileSync(join(dir, 'contracts', 'ticket.opened.v1.json'), JSON.stringify(opened));
  writeFileSync(join(dir, 'contracts', 'ticket.answered.v1.json'), JSON.stringify(o.answered));
  writeFileSync(join(dir, 'agents', 'sink.mjs'), 'export default { handle() {} };');
  return dir;
}

/** The flowise transport, keeping each error its agent threw (the ledger keeps code and message). */
function recording(errors: MeshwardenError[]): AgentTransport {
  const inner = createFlowiseTransport({ timeoutMs: 30_000 });
  return {
    kind: inner.kind,
    connect(spec) {
      const agent = inner.connect(spec);
      if (isMeshwardenError(agent)) return agent;
      return {
        async handle(msg, ctx) {
          try {
            await agent.handle(msg, ctx);
          } catch (error) {
            if (isMeshwardenError(error)) errors.push(error);
            throw error;
          }
        },
      };
    },
  };
}

type Run = { readonly entries: LedgerEntry[]; readonly errors: MeshwardenError[] };

/** Sends one ticket through a fresh mesh (two tries per delivery) and returns its ledger. */
async function sendTicket(o: MeshOptions): Promise<Run> {
  const dir = writeMesh(o);
  const errors: MeshwardenError[] = [];
  const opened = await openMesh({
    meshFile: join(dir, 'mesh.yaml'),
    dataDir: join(dir, `data-${randomUUID()}`),
    log,
    transports: [recording(errors)],
    retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  await using running = opened.opened;
  await running.mesh.inject('inbox', {
    type: 'ticket.opened.v1',
    subject: 'account:8841',
    data: { text: TEXT },
  });
  await running.mesh.idle();
  return { entries: await Array.fromAsync(running.ledger.scan()), errors };
}

type Decided = {
  envelope: Envelope;
  verdict: { decision: string; stage: string; reason: string; issues?: unknown };
};
const decisions = (entries: LedgerEntry[]) =>
  entries.filter((e) => e.kind === ENTRY.decision).map((e) => e.data as Decided);
const answered = (entries: LedgerEntry[]) =>
  decisions(entries).filter((d) => d.envelope.type === 'ticket.answered.v1');
const ticket = (entries: LedgerEntry[]) =>
  decisions(entries).find((d) => d.envelope.type === 'ticket.opened.v1')!.envelope;
const failures = (entries: LedgerEntry[], kind: string) =>
  entries
    .filter((e) => e.kind === kind)
    .map((e) => (e.data as { error: { code: string; message: string } }).error);

const strings = (...names: string[]) => ({
  type: 'object',
  properties: Object.fromEntries(names.map((n) => [n, { type: 'string', minLength: 1 }])),
  required: names,
  additionalProperties: false,
});

/** The echo flow's answer, with the conversation Flowise ran it in. */
const ECHO_REPLY =
  "{ type: ticket.answered.v1, data: { reply: '{{ text }}', chatId: '{{ answer.chatId }}', sessionId: '{{ answer.sessionId }}' } }";
const ECHO_CONTRACT = strings('reply', 'chatId', 'sessionId');

describe('flowise: agents against a real Flowise', () => {
  it('maps the echo flow’s answer into an admitted emission, in the case’s conversation', async () => {
    const { entries, errors } = await sendTicket({
      flow: peer.flows.echo,
      reply: ECHO_REPLY,
      answered: ECHO_CONTRACT,
    });
    expect(errors).toEqual([]);
    const [answer] = answered(entries);
    expect(answer?.verdict.reason).toBe('gate.admitted');
    // The conversation is the case: Flowise ran the flow with chatId and sessionId = correlationid.
    const { correlationid } = ticket(entries);
    expect(answer?.envelope).toMatchObject({
      data: { reply: `echo: ${TEXT}`, chatId: correlationid, sessionId: correlationid },
      subject: 'account:8841',
      correlationid,
    });
    expect(entries.some((e) => e.kind === ENTRY.delivered && e.agent === 'sink@1.0.0')).toBe(true);
  });

  it('reads the object a Custom Function returned (pretty JSON in `text`) as `json`', async () => {
    const reply =
      "{ type: ticket.answered.v1, data: { label: '{{ json.label }}', question: '{{ json.question }}', sessionId: '{{ json.sessionId }}', chatId: '{{ json.chatId }}', text: '{{ text }}' } }";
    const { entries } = await sendTicket({
      flow: peer.flows.json,
      reply,
      answered: strings('label', 'question', 'sessionId', 'chatId', 'text'),
    });
    const [answer] = answered(entries);
    expect(answer?.verdict.reason).toBe('gate.admitted');
    const { correlationid } = ticket(entries);
    // What the flow itself saw ($flow.input, $flow.sessionId, $flow.chatId), as it returned it.
    const returned = { label: 'bug', question: TEXT, sessionId: correlationid, chatId: correlationid };
    expect(answer?.envelope.data).toEqual({ ...returned, text: JSON.stringify(returned, null, 2) });
  });

  it('asks the data’s JSON text and emits the answer’s JSON when the mappings are left out', async () => {
    const { entries } = await sendTicket({
      flow: peer.flows.json,
      defaults: true,
      answered: strings('label', 'question', 'sessionId', 'chatId'),
    });
    const [answer] = answered(entries);
    expect(answer?.verdict.reason).toBe('gate.admitted');
    const { correlationid } = ticket(entries);
    expect(answer?.envelope.data).toEqual({
      label: 'bug',
      question: JSON.stringify({ text: TEXT }),
      sessionId: correlationid,
      chatId: correlationid,
    });
  });

  it('dead-letters a ticket whose flow throws, after retrying, with the flow’s error', async () => {
    const { entries, errors } = await sendTicket({
      flow: peer.flows.fail,
      reply: ECHO_REPLY,
      answered: ECHO_CONTRACT,
    });
    expect(failures(entries, ENTRY.deliveryFailed).map((e) => e.code)).toEqual(['MW_INTEROP_HTTP_STATUS']);
    const [dead] = failures(entries, ENTRY.deadLetter);
    expect(dead?.code).toBe('MW_INTEROP_HTTP_STATUS');
    // The ledger's record says what went wrong over there (the remote's message is the point).
    expect(dead?.message).toContain('boom from flow');
    expect(errors.map((e) => e.details)).toEqual([
      { status: 500, remote: expect.stringContaining('boom from flow') },
      { status: 500, remote: expect.stringContaining('boom from flow') },
    ]);
    expect(answered(entries)).toEqual([]);
  });

  it('answers through a flow’s API key, and never writes the key down', async () => {
    process.env[KEY_ENV] = peer.key;
    const { entries } = await sendTicket({
      flow: peer.flows.keyed,
      reply: ECHO_REPLY,
      answered: ECHO_CONTRACT,
      auth: true,
    });
    expect(answered(entries).map((d) => d.verdict.reason)).toEqual(['gate.admitted']);
    expect(JSON.stringify(entries)).not.toContain(peer.key);
  });

  it('dead-letters a ticket when the flow refuses the key (Flowise 3 answers 500 "Unauthorized")', async () => {
    process.env[KEY_ENV] = 'not-the-key';
    const { entries, errors } = await sendTicket({
      flow: peer.flows.keyed,
      reply: ECHO_REPLY,
      answered: ECHO_CONTRACT,
      auth: true,
    });
    // A refused key is refused on every try: final, dead-lettered after one.
    expect(failures(entries, ENTRY.deadLetter).map((e) => e.code)).toEqual(['MW_INTEROP_HTTP_STATUS']);
    expect(errors).toHaveLength(1);
    for (const error of errors) {
      expect(error.code).toBe('MW_INTEROP_HTTP_STATUS');
      expect(error.details).toMatchObject({ status: 500, remote: expect.stringContaining('Unauthorized') });
    }
    expect(JSON.stringify(entries)).not.toContain('not-the-key');
  });

  it.each([
    [
      'an unknown flow id (404)',
      {},
      '00000000-0000-4000-8000-000000000000',
      404,
      'not found in the database',
    ],
    ['a flow id that is not a UUID (400)', {}, 'no-such-flow', 400, 'Invalid Chatflow ID'],
    // Flowise puts every /api/v1 path but its own prediction route behind its login.
    [
      'a base URL with a path Flowise does not serve (401)',
      { path: '/flowise' },
      '',
      401,
      'Unauthorized Access',
    ],
  ])(
    'dead-letters a ticket for %s, with Flowise’s message',
    async (_, at: { path?: string }, flow, status, remote) => {
      const url = at.path === undefined ? peer.url : `${peer.url}${at.path}`;
      const { entries, errors } = await sendTicket({
        url,
        flow: flow || peer.flows.echo,
        reply: ECHO_REPLY,
        answered: ECHO_CONTRACT,
      });
      const [dead] = failures(entries, ENTRY.deadLetter);
      expect(dead?.code).toBe('MW_INTEROP_HTTP_STATUS');
      expect(dead?.message).toContain(remote);
      // A 4xx is final: another try would get it again.
      expect(errors).toHaveLength(1);
      expect(errors.at(-1)?.details).toMatchObject({
        status,
        remote: expect.stringContaining(remote),
        final: true,
      });
    },
  );

  it('quarantines an answer its reply mapping cannot map (envelope.unmapped), naming the pointer', async () => {
    // The echo flow answers plain text, so `json` is nothing and the interpolation fails.
    const { entries } = await sendTicket({
      flow: peer.flows.echo,
      reply: "{ type: ticket.answered.v1, data: { reply: 'label: {{ json.label }}' } }",
      answered: strings('reply'),
    });
    const [answer] = answered(entries);
    expect(answer?.verdict).toMatchObject({
      decision: 'quarantine',
      stage: 'envelope',
      reason: 'envelope.unmapped',
    });
    expect(answer?.verdict.issues).toEqual([{ pointer: '/reply/data/reply', message: expect.any(String) }]);
    // The answer as it came is kept for review.
    expect(answer?.envelope.data).toEqual({ text: `echo: ${TEXT}` });
    expect(entries.some((e) => e.kind === ENTRY.delivered && e.agent === 'sink@1.0.0')).toBe(false);
  });

  it('quarantines a mapped answer that breaks its contract', async () => {
    const { entries } = await sendTicket({
      flow: peer.flows.json,
      reply: "{ type: ticket.answered.v1, data: { label: '{{ json.label }}' } }",
      answered: {
        type: 'object',
        properties: { label: { enum: ['billing', 'general'] } },
        required: ['label'],
      },
    });
    expect(answered(entries)[0]?.verdict).toMatchObject({ decision: 'quarantine', stage: 'contract' });
  });
});
