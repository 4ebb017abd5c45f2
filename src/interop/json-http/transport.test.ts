import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ENTRY, type LedgerEntry } from '../../runtime/index.js';
import {
  deadLetterCodes,
  decisionsOf,
  entriesOf,
  meshWithAgent,
  sendEach,
  writeMeshDir,
} from '../mesh-test-kit.js';
import { DEAD_LETTERING, startWebhookPeer, type WebhookPeer } from './test-kit.js';
import { createJsonHttpTransport } from './transport.js';

const _log = pino({ level: 'silent' });
let n8n: WebhookPeer;

/** The enrich workflow: looks the account up, and escalates VIP accounts. */
const enrich = (body: unknown) => {
  const { account } = body as { account: string };
  return { account, tier: account === 'account:1' ? 'vip' : 'standard', escalate: account === 'account:1' };
};

beforeAll(async () => {
  n8n = await startWebhookPeer('enrich', enrich);
});
afterAll(() => n8n.close());
beforeEach(() => {
  n8n.mode = 'ok';
  n8n.slowMs = 2500;
  n8n.key = undefined;
  n8n.respond = enrich;
  n8n.raw = undefined;
  n8n.rawType = 'application/json';
  n8n.received.length = 0;
});

/** The issue's example: `enrich` is an n8n webhook workflow answering with "Respond to Webhook". */
function writeMesh(
  opts: {
    path?: string;
    method?: string;
    timeout?: string;
    auth?: string;
    request?: string;
    when?: string;
  } = {},
): string {
  const schema = (props: object) => JSON.stringify({ type: 'object', properties: props });
  return writeMeshDir({
    yaml: [
      'mesh: t',
      'agents:',
      '  enrich:',
      '    version: 1.0.0',
      `    http: { url: ${n8n.url}${opts.path ?? n8n.path}${opts.method === undefined ? '' : `, method: ${opts.method}`}${opts.timeout === undefined ? '' : `, timeout: ${opts.timeout}`} }`,
      ...(opts.auth === undefined ? [] : [`    auth: ${opts.auth}`]),
      '    consumes: [ticket.triaged.v1]',
      '    emits: [ticket.enriched.v1, ticket.escalated.v1]',
      `    request: ${opts.request ?? "{ account: '{{ subject }}', label: '{{ data.label }}' }"}`,
      '    reply:',
      `      - { when: '${opts.when ?? '{{ json.escalate = true }}'}', type: ticket.escalated.v1, data: '{{ json }}' }`,
      "      - { type: ticket.enriched.v1, data: { account: '{{ json.account }}', tier: '{{ json.tier }}' } }",
      '  sink: { version: 1.0.0, module: ./agents/sink.mjs, consumes: [ticket.enriched.v1, ticket.escalated.v1] }',
      'ingress:',
      '  inbox: { emits: [ticket.triaged.v1] }',
    ],
    contracts: {
      'ticket.triaged.v1': schema({ label: { type: 'string' } }),
      'ticket.enriched.v1': schema({ tier: { type: 'string' } }),
      'ticket.escalated.v1': schema({ escalate: { const: true } }),
    },
    agents: { 'sink.mjs': 'export default { handle() {} };' },
  });
}

/** The transport's default call timeout and reply bound, the runtime's bound on one try, the logger. */
type Bounds = { callMs?: number; tryMs?: number; log?: Logger; maxReplyBytes?: number };

async function send(meshDir: string, subject = 'account:2', bounds: Bounds = {}): Promise<LedgerEntry[]> {
  const transport = createJsonHttpTransport({
    timeoutMs: bounds.callMs ?? 1000,
    maxReplyBytes: bounds.maxReplyBytes ?? 4096,
  });
  await using o = await meshWithAgent(meshDir, transport, {
    ...(bounds.log === undefined ? {} : { log: bounds.log }),
    retry: {
      attempts: 2,
      initialDelayMs: 1,
      maxDelayMs: 2,
      ...(bounds.tryMs === undefined ? {} : { timeoutMs: bounds.tryMs }),
    },
  });
  await sendEach(o, 'inbox', [{ type: 'ticket.triaged.v1', subject, data: { label: 'billing' } }]);
  return await entriesOf(o);
}

const answers = (entries: LedgerEntry[]) =>
  decisionsOf(entries).filter((d) => d.envelope.type !== 'ticket.triaged.v1');

describe('JSON endpoints (http:), an n8n webhook workflow', () => {
  it('posts the mapped request with its credential, and emits what each reply mapping whose `when` holds makes', async () => {
    process.env.MW_TEST_N8N_KEY = 'n8n-s3cret';
    n8n.key = 'n8n-s3cret';
    const entries = await send(writeMesh({ auth: '{ env: MW_TEST_N8N_KEY, header: X-N8N-Key }' }));
    expect(answers(entries).map((d) => [d.envelope.type, d.envelope.data, d.verdict.reason])).toEqual([
      ['ticket.enriched.v1', { account: 'account:2', tier: 'standard' }, 'gate.admitted'],
    ]);
    const [request] = n8n.received;
    expect(request?.method).toBe('POST');
    expect(request?.body).toEqual({ account: 'account:2', label: 'billing' });
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['x-n8n-key']).toBe('n8n-s3cret');
    expect(JSON.stringify(entries)).not.toContain('n8n-s3cret');
    // A VIP account escalates as well: every mapping that holds emits, in order.
    const vip = await send(writeMesh({ auth: '{ env: MW_TEST_N8N_KEY, header: X-N8N-Key }' }), 'account:1');
    expect(answers(vip).map((d) => d.envelope.type)).toEqual(['ticket.escalated.v1', 'ticket.enriched.v1']);
  });

  it('sends the envelope’s data by default, with the method the policy names', async () => {
    n8n.respond = () => ({ account: 'account:2', tier: 'standard', escalate: false });
    const entries = await send(writeMesh({ method: 'PUT', request: "'{{ data }}'" }));
    expect(n8n.received[0]).toMatchObject({ method: 'PUT', body: { label: 'billing' } });
    expect(answers(entries).map((d) => d.verdict.reason)).toEqual(['gate.admitted']);
  });

  it.each(DEAD_LETTERING)(
    'dead-letters a message whose endpoint answers %s (%s), after %i tries',
    async (mode, code, tries) => {
      n8n.mode = mode;
      const entries = await send(writeMesh());
      expect(deadLetterCodes(entries)).toEqual([code]);
      expect(n8n.received).toHaveLength(tries);
      expect(answers(entries)).toEqual([]);
    },
  );

  it.each([
    ['a webhook that is not registered (404)', { path: '/webhook/gone' }],
    ['a wrong header credential (403)', { key: 'other' }],
  ])(
    'dead-letters a message the workflow refuses after one try: %s',
    async (_, o: { path?: string; key?: string }) => {
      n8n.key = o.key;
      const entries = await send(writeMesh(o.path === undefined ? {} : { path: o.path }));
      expect(deadLetterCodes(entries)).toEqual(['MW_INTEROP_HTTP_STATUS']);
      // Another try would be refused the same way: there is none.
      expect(n8n.received).toHaveLength(1);
      expect(entries.filter((e) => e.kind === ENTRY.deliveryFailed)).toEqual([]);
    },
  );

  it('tries a failing workflow (500) again before dead-lettering it', async () => {
    n8n.mode = 'fail';
    const entries = await send(writeMesh());
    expect(deadLetterCodes(entries)).toEqual(['MW_INTEROP_HTTP_STATUS']);
    expect(n8n.received).toHaveLength(2);
  });

  it('gives up a call after the timeout the policy sets, and says where to change it', async () => {
    n8n.mode = 'slow';
    n8n.slowMs = 1000;
    const entries = await send(writeMesh({ timeout: '200ms' }), 'account:2', { callMs: 5000 });
    const dead = entries.filter((e) => e.kind === ENTRY.deadLetter);
    expect(dead.map((e) => (e.data as { error: { code: string } }).error.code)).toEqual([
      'MW_INTEROP_TIMEOUT',
    ]);
    const { message } = (dead[0]!.data as { error: { message: string } }).error;
    expect(message).toContain('200 ms');
    expect(message).toContain('agents.enrich.http.timeout');
  });

  it('logs an expected failure as its code and message, without a stack', async () => {
    n8n.mode = 'slow';
    n8n.slowMs = 1000;
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line));
        done();
      },
    });
    await send(writeMesh({ timeout: '200ms' }), 'account:2', { log: pino({ level: 'warn' }, sink) });
    const dead = lines.filter((l) => l.msg === 'message dead-lettered');
    expect(dead).toEqual([
      expect.objectContaining({
        worker: 'enrich@1.0.0',
        code: 'MW_INTEROP_TIMEOUT',
        error: expect.any(String),
      }),
    ]);
    expect(dead[0]?.err).toBeUndefined();
    expect(JSON.stringify(lines)).not.toContain('    at ');
  });

  it('waits for a slow endpoint as long as the policy’s timeout says, past the defaults', async () => {
    n8n.mode = 'slow';
    n8n.slowMs = 1000;
    // Both the transport's default (200 ms) and the runtime's bound on a try (300 ms) are shorter.
    const entries = await send(writeMesh({ timeout: '10s' }), 'account:2', { callMs: 200, tryMs: 300 });
    expect(deadLetterCodes(entries)).toEqual([]);
    expect(answers(entries).map((d) => d.verdict.reason)).toEqual(['gate.admitted']);
  });

  it('stops the call of a try the runtime gave up: its answer is not emitted late beside the retry', async () => {
    n8n.mode = 'slow';
    n8n.slowMs = 600;
    // No policy timeout: the transport's (5 s) outlasts the runtime's bound on a try (200 ms).
    const entries = await send(writeMesh(), 'account:2', { callMs: 5000, tryMs: 200 });
    await new Promise((r) => setTimeout(r, 800));
    expect(answers(entries).map((d) => d.verdict.reason)).toEqual([]);
    expect(deadLetterCodes(entries)).toEqual(['MW_RUNTIME_TIMEOUT']);
  });

  it('emits nothing for an empty answer (204)', async () => {
    n8n.mode = 'empty';
    const entries = await send(writeMesh());
    expect(answers(entries)).toEqual([]);
    expect(entries.some((e) => e.kind === ENTRY.delivered && e.agent === 'enrich@1.0.0')).toBe(true);
  });

  it('quarantines the emission of a reply mapping that fails, naming the pointer, and emits the others', async () => {
    // Ordering a string against a number is an error in JSONata, not false.
    n8n.respond = () => ({ priority: 'high', account: 'account:2', tier: 'standard' });
    const entries = await send(writeMesh({ when: '{{ json.priority > 3 }}' }));
    const [escalated, enriched] = answers(entries);
    expect(escalated?.envelope.type).toBe('ticket.escalated.v1');
    expect(escalated?.verdict).toMatchObject({ decision: 'quarantine', reason: 'envelope.unmapped' });
    expect(escalated?.verdict.issues).toEqual([{ pointer: '/reply/0/when', message: expect.any(String) }]);
    expect(enriched?.verdict.reason).toBe('gate.admitted');
  });

  it('dead-letters an answer whose JSON holds a number JSON cannot hold (1e400), naming its pointer', async () => {
    n8n.raw = '{"account": "account:2", "tier": "standard", "score": 1e400}';
    const entries = await send(writeMesh());
    expect(deadLetterCodes(entries)).toEqual(['MW_INTEROP_BAD_REPLY']);
    const dead = entries.find((e) => e.kind === ENTRY.deadLetter)?.data as { error: { message: string } };
    expect(dead.error.message).toContain('/score');
    expect(answers(entries)).toEqual([]);
  });

  it('dead-letters an answer that gives a member name twice, naming its pointer, instead of keeping the last', async () => {
    n8n.raw = '{"account": "account:2", "tier": "standard", "tier": "gold", "score": 0.4}';
    const entries = await send(writeMesh());
    expect(deadLetterCodes(entries)).toEqual(['MW_INTEROP_BAD_REPLY']);
    const dead = entries.find((e) => e.kind === ENTRY.deadLetter)?.data as { error: { message: string } };
    expect(dead.error.message).toContain('/tier');
    expect(answers(entries)).toEqual([]);
  });

  it('reads such an answer as text only when it is not said to be JSON, and emits every reply item', async () => {
    n8n.raw = '{"account": "account:2", "tier": "standard", "score": 1e400}';
    n8n.rawType = 'text/plain';
    const entries = await send(writeMesh({ when: '{{ true }}' }));
    // `{{ json }}` gives nothing (the answer has no JSON), so the escalation is unmapped; the
    // enrichment's members give nothing and are left out. Both are recorded, neither throws.
    expect(answers(entries).map((d) => [d.envelope.type, d.verdict.reason])).toEqual([
      ['ticket.escalated.v1', 'envelope.unmapped'],
      ['ticket.enriched.v1', 'gate.admitted'],
    ]);
    expect(JSON.stringify(entries)).not.toContain('Infinity');
  });

  it('keeps bounded text, never a rendering, of an answer nested too deep for a message', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    n8n.raw = `{"escalate": true, "account": "account:2", "tier": "standard", "deep": ${deep}}`;
    const entries = await send(writeMesh(), 'account:2', { maxReplyBytes: 64 * 1024 });
    const [escalated, enriched] = answers(entries);
    expect(escalated?.verdict).toMatchObject({ decision: 'quarantine', reason: 'envelope.unmapped' });
    expect(escalated?.verdict.issues).toEqual([{ pointer: '/reply/0/data', message: expect.any(String) }]);
    const kept = escalated?.envelope.data as { text: string; json?: unknown };
    expect(kept.json).toBeUndefined();
    expect(n8n.raw.startsWith(kept.text.slice(0, 100))).toBe(true);
    expect(kept.text.length).toBeLessThan(5000);
    expect(enriched?.verdict.reason).toBe('gate.admitted');
    expect(JSON.stringify(entries)).not.toContain('[Array]');
  });

  it('quarantines an emission whose required member gives nothing as unmapped, keeping the answer', async () => {
    const dir = writeMesh();
    // A typo in the mapping: `json.teir` gives nothing, and the contract requires `tier`.
    const yaml = join(dir, 'mesh.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('json.tier', 'json.teir'));
    const schema = { type: 'object', properties: { tier: { type: 'string' } }, required: ['tier'] };
    writeFileSync(join(dir, 'contracts', 'ticket.enriched.v1.json'), JSON.stringify(schema));
    const entries = await send(dir);
    const [enriched] = answers(entries);
    expect(enriched?.verdict).toMatchObject({ decision: 'quarantine', reason: 'envelope.unmapped' });
    expect(enriched?.verdict.issues).toEqual([
      { pointer: '/reply/1/data/tier', message: expect.any(String) },
    ]);
    // What came back is there for the pilot to see.
    expect(enriched?.envelope.data).toMatchObject({
      json: { account: 'account:2', tier: 'standard', escalate: false },
    });
  });
});
