import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRY, type Envelope, type LedgerEntry, openMesh, signEnvelope } from '../../runtime/index.js';
import { deadLetterCodes, entriesOf, meshWithAgent, sendEach, writeMeshDir } from '../mesh-test-kit.js';
import { createHttpTransport } from './transport.js';

/** What the remote agent does with the next message. */
type Mode =
  | 'ok'
  | 'signed'
  | 'badly-signed'
  | 'garbage'
  | 'too-big'
  | 'html'
  | 'unknown-type'
  | 'impersonate'
  | 'slow'
  | 'fail'
  | 'fixed-id'
  | 'input-id'
  /** A member name given twice: `"score": 2, "score": 1000`. */
  | 'twice'
  /** Wants `Authorization: Bearer s3cret`, as an agent behind an API gateway would. */
  | 'auth'
  | 'redirect'
  | 'gone'
  /** Answers with the Authorization header it got, in its data and in a redirect's URL. */
  | 'echo'
  | 'echo-php'
  | 'echo-redirect';

const FIXED_ID = '0190a0b0-0000-7000-8000-00000000f1d0';

const log = pino({ level: 'silent' });
const keys = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
let mode: Mode = 'ok';
/** The W3C trace headers of the last call, and the traceparent its body carried. */
let traced: { header?: string; body?: string } = {};
/** Calls the remote agent took. */
let calls = 0;
let agent: FastifyInstance;
let url: string;

/** The remote agent: a Fastify server that scores a job as CloudEvents, or misbehaves as told. */
beforeAll(async () => {
  agent = Fastify();
  agent.addContentTypeParser('application/cloudevents+json', { parseAs: 'string' }, (_, body, done) =>
    done(null, JSON.parse(body as string)),
  );
  agent.post('/score', async (request, reply) => {
    const msg = request.body as Envelope;
    traced = { header: request.headers.traceparent as string | undefined, body: msg.traceparent };
    calls++;
    const authorization = request.headers.authorization ?? '';
    if (mode === 'auth' && request.headers.authorization !== 'Bearer s3cret') return reply.code(401).send();
    const event = {
      id: mode === 'fixed-id' ? FIXED_ID : mode === 'input-id' ? msg.id : randomUUID(),
      source: 'mesh://t/scorer@1.0.0',
      type: mode === 'unknown-type' ? 'job.unheard.v1' : 'job.scored.v1',
      subject: msg.subject,
      time: new Date().toISOString(),
      data: { score: (msg.data as { n: number }).n * 2 },
      causationid: msg.id,
    };
    const sign = (key: KeyObject) => signEnvelope(event as unknown as Envelope, key);
    switch (mode) {
      case 'signed':
        return reply.type('application/cloudevents-batch+json').send([sign(keys.privateKey)]);
      case 'badly-signed':
        return reply.type('application/cloudevents-batch+json').send([sign(stranger.privateKey)]);
      case 'garbage':
        return reply.type('application/json').send('{"type": ');
      case 'twice':
        return reply
          .type('application/cloudevents+json')
          .send(JSON.stringify(event).replace('"data":{', '"data":{"score":1000,'));
      case 'too-big':
        return reply.type('application/json').send([{ ...event, data: { pad: 'x'.repeat(4096) } }]);
      case 'html':
        return reply.type('text/html').send('<h1>hello</h1>');
      case 'impersonate':
        return reply.type('application/cloudevents+json').send({ ...event, source: 'mesh://t/sink@1.0.0' });
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, 500));
        return reply.type('application/json').send([event]);
      case 'fail':
        return reply.code(503).send('down');
      case 'redirect':
        return reply.redirect('https://login.example.com/sso?next=/score', 302);
      case 'echo-redirect':
        return reply.redirect(`https://login.example.com/${encodeURIComponent(authorization)}/x`, 302);
      case 'gone':
        return reply.code(404).send({ message: `no route /score for ${authorization}` });
      case 'echo':
        return reply.type('application/json').send([{ ...event, data: { score: 1, debug: authorization } }]);
      case 'echo-php': {
        // PHP's json_encode writes / as \/; Go's writes + & < > as \u escapes.
        const text = JSON.stringify([{ ...event, data: { score: 1, debug: authorization } }]);
        return reply.type('application/json').send(text.replaceAll('/', '\\/').replaceAll('+', '\\u002b'));
      }
      default:
        return reply.type('application/cloudevents-batch+json').send([event]);
    }
  });
  await agent.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(agent.server.address() as AddressInfo).port}/score`;
});

afterAll(() => agent.close());

/** A mesh whose `scorer` is the remote agent (optionally required to sign) and whose `sink` is local. */
function writeMesh(opts: { signed?: boolean; at?: string; auth?: string } = {}): string {
  const key = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const schema = (props: object) => JSON.stringify({ type: 'object', properties: props });
  return writeMeshDir({
    yaml: [
      'mesh: t',
      'agents:',
      '  scorer:',
      '    version: 1.0.0',
      `    url: ${opts.at ?? url}`,
      '    consumes: [job.queued.v1]',
      '    emits: [job.scored.v1]',
      ...(opts.auth === undefined ? [] : [`    auth: ${opts.auth}`]),
      ...(opts.signed
        ? [
            '    publicKey: |',
            ...key
              .trim()
              .split('\n')
              .map((l) => `      ${l}`),
          ]
        : []),
      '  sink: { version: 1.0.0, module: ./agents/sink.mjs, consumes: [job.scored.v1] }',
      'ingress:',
      '  api: { emits: [job.queued.v1] }',
    ],
    contracts: {
      'job.queued.v1': schema({ n: { type: 'integer' } }),
      'job.scored.v1': schema({ score: { type: 'number' } }),
    },
    agents: { 'sink.mjs': 'export default { handle() {} };' },
  });
}

/** Sends one job through a fresh mesh and returns the ledger entries that followed. */
async function sendJob(
  meshDir: string,
  transport = createHttpTransport({ timeoutMs: 200 }),
): Promise<LedgerEntry[]> {
  await using o = await meshWithAgent(meshDir, transport);
  await sendEach(o, 'api', [{ type: 'job.queued.v1', subject: 'job:1', data: { n: 21 } }]);
  return await entriesOf(o);
}

const scored = (entries: LedgerEntry[]) =>
  entries.filter(
    (e) =>
      e.kind === ENTRY.decision && (e.data as { envelope?: Envelope }).envelope?.type !== 'job.queued.v1',
  );
const reasonOf = (e: LedgerEntry) => (e.data as { verdict: { reason: string } }).verdict.reason;

describe('HTTP agents (url:)', () => {
  it('posts the admitted message as a CloudEvent and gates what the agent answers', async () => {
    mode = 'ok';
    const entries = await sendJob(writeMesh());
    const [decision] = scored(entries);
    expect(reasonOf(decision!)).toBe('gate.admitted');
    const envelope = (decision!.data as { envelope: Envelope }).envelope;
    expect(envelope).toMatchObject({
      type: 'job.scored.v1',
      data: { score: 42 },
      hop: 1,
      agentversion: '1.0.0',
    });
    expect(decision!.agent).toBe('scorer@1.0.0');
    expect(entries.some((e) => e.kind === ENTRY.delivered && e.agent === 'sink@1.0.0')).toBe(true);
    // The trace context goes as a W3C header too, where an instrumented HTTP server reads it.
    expect(traced.header).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(traced.header).toBe(traced.body);
  });

  it.each([
    ['signed', 'gate.admitted'],
    ['badly-signed', 'envelope.signature_invalid'],
    ['ok', 'envelope.signature_missing'],
  ] as [Mode, string][])('checks signatures when the policy requires them: %s → %s', async (m, reason) => {
    mode = m;
    const [decision] = scored(await sendJob(writeMesh({ signed: true })));
    expect(reasonOf(decision!)).toBe(reason);
  });

  it.each([
    ['unknown-type', 'authorization'],
    ['impersonate', 'envelope.source_mismatch'],
  ] as [Mode, string][])('records what a remote agent may not say: %s', async (m, expected) => {
    mode = m;
    const [decision] = scored(await sendJob(writeMesh()));
    const verdict = (decision!.data as { verdict: { decision: string; stage: string; reason: string } })
      .verdict;
    expect(verdict.decision).not.toBe('deliver');
    expect(`${verdict.stage} ${verdict.reason}`).toContain(expected);
  });

  it.each([
    ['garbage', 'MW_INTEROP_BAD_REPLY', 0],
    ['twice', 'MW_INTEROP_BAD_REPLY', 0],
    ['too-big', 'MW_INTEROP_REPLY_TOO_BIG', 1],
    ['html', 'MW_INTEROP_CONTENT_TYPE', 0],
    ['slow', 'MW_INTEROP_TIMEOUT', 1],
    ['fail', 'MW_INTEROP_HTTP_STATUS', 1],
  ] as [Mode, string, number][])(
    'dead-letters a message whose agent answers %s (%s), after retrying what another try may mend',
    async (m, code, retried) => {
      mode = m;
      const entries = await sendJob(
        writeMesh(),
        createHttpTransport({ timeoutMs: 200, maxReplyBytes: 2048 }),
      );
      expect(deadLetterCodes(entries)).toEqual([code]);
      // A 2xx that cannot be read is final: another try would run the agent again for the same answer.
      expect(entries.filter((e) => e.kind === ENTRY.deliveryFailed)).toHaveLength(retried);
      expect(scored(entries)).toEqual([]);
    },
  );

  it('calls with the credential its auth names, read from the environment, and never records it', async () => {
    mode = 'auth';
    process.env.MW_TEST_SCORER_TOKEN = 's3cret';
    const entries = await sendJob(writeMesh({ auth: '{ env: MW_TEST_SCORER_TOKEN }' }));
    expect(scored(entries).map(reasonOf)).toEqual(['gate.admitted']);
    expect(JSON.stringify(entries)).not.toContain('s3cret');
    // Without it the agent refuses the call, which fails like any refused call.
    expect(deadLetterCodes(await sendJob(writeMesh()))).toEqual(['MW_INTEROP_HTTP_STATUS']);
  });

  it.each([
    ['redirect', 'MW_INTEROP_REDIRECT', 'https://login.example.com/sso?…'],
    ['gone', 'MW_INTEROP_HTTP_STATUS', 'HTTP 404: no route /score for'],
  ] as [Mode, string, string][])(
    'dead-letters at once what another try would get again: %s (%s), saying what it was',
    async (m, code, said) => {
      mode = m;
      calls = 0;
      const entries = await sendJob(writeMesh());
      expect(deadLetterCodes(entries)).toEqual([code]);
      expect(calls).toBe(1);
      expect(JSON.stringify(entries.filter((e) => e.kind === ENTRY.deadLetter))).toContain(said);
    },
  );

  it.each([
    ['echo', 'in what it emits'],
    ['echo-redirect', 'in a redirect'],
    ['gone', 'in an error'],
    ['echo-php', 'escaped where JSON need not escape'],
  ] as [Mode, string][])('never records a credential the agent echoes: %s, %s', async (m) => {
    mode = m;
    // A key whose URL and JSON spellings differ from it: + / = " and capitals.
    process.env.MW_TEST_ECHO_TOKEN = 'Sk+Y/"Q=1';
    const entries = JSON.stringify(await sendJob(writeMesh({ auth: '{ env: MW_TEST_ECHO_TOKEN }' })));
    for (const form of ['Sk+Y', 'Sk%2BY', 'Sk\\u002bY', 'Sk\\\\u002bY', 'Q=1', 'Q%3D1'])
      expect(entries).not.toContain(form);
    expect(entries).toContain('[redacted: MW_TEST_ECHO_TOKEN]');
  });

  it('will not open a mesh whose agent credential is not in the environment', async () => {
    delete process.env.MW_TEST_UNSET_TOKEN;
    const dir = writeMesh({ auth: '{ env: MW_TEST_UNSET_TOKEN }' });
    const opened = await openMesh({
      meshFile: join(dir, 'mesh.yaml'),
      dataDir: join(dir, 'data'),
      log,
      transports: [createHttpTransport()],
    });
    expect(opened.ok).toBe(false);
    const [error] = opened.ok ? [] : (opened.errors ?? []);
    expect(error?.code).toBe('MW_INTEROP_AUTH_ENV');
    expect(error?.message).toContain('MW_TEST_UNSET_TOKEN');
  });

  it('refuses a credential no header can carry, without the secret in the sentence', async () => {
    process.env.MW_TEST_BROKEN_TOKEN = 'line one\nline two';
    const dir = writeMesh({ auth: '{ env: MW_TEST_BROKEN_TOKEN }' });
    const opened = await openMesh({
      meshFile: join(dir, 'mesh.yaml'),
      dataDir: join(dir, 'data'),
      log,
      transports: [createHttpTransport()],
    });
    const [error] = opened.ok ? [] : (opened.errors ?? []);
    expect(error?.code).toBe('MW_INTEROP_AUTH_ENV');
    expect(error?.message).not.toContain('line one');
  });

  it('dead-letters when nothing listens, naming the address', async () => {
    mode = 'ok';
    const entries = await sendJob(writeMesh({ at: 'http://127.0.0.1:9/score' }));
    expect(deadLetterCodes(entries)).toEqual(['MW_INTEROP_UNREACHABLE']);
  });

  it('stops calling an agent that keeps failing, across reconnects, then tries it again', async () => {
    mode = 'fail';
    const transport = createHttpTransport({ timeoutMs: 200, breakAfter: 2, halfOpenAfterMs: 50 });
    const first = await sendJob(writeMesh(), transport);
    expect(deadLetterCodes(first)).toEqual(['MW_INTEROP_HTTP_STATUS']);
    // The circuit is the transport's, per agent and URL: connecting the agent again (as a policy
    // reload does, or this second mesh) keeps counting, so the second failure opens it.
    await using o = await meshWithAgent(writeMesh(), transport, {
      retry: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1 },
    });
    const jobs = [0, 1, 2].map((n) => ({ type: 'job.queued.v1', subject: `job:${n}`, data: { n } }));
    await sendEach(o, 'api', jobs);
    const codes = deadLetterCodes(await entriesOf(o));
    expect(codes).toEqual(['MW_INTEROP_HTTP_STATUS', 'MW_INTEROP_CIRCUIT_OPEN', 'MW_INTEROP_CIRCUIT_OPEN']);
    await new Promise((resolve) => setTimeout(resolve, 80));
    mode = 'ok';
    await sendEach(o, 'api', [{ type: 'job.queued.v1', subject: 'job:9', data: { n: 9 } }]);
    expect(scored(await entriesOf(o)).map(reasonOf)).toEqual(['gate.admitted']);
  });

  it('refuses an id the agent already used, or one that names another message', async () => {
    mode = 'fixed-id';
    await using o = await meshWithAgent(writeMesh(), createHttpTransport({ timeoutMs: 200 }));
    const job = (n: number) => ({ type: 'job.queued.v1', subject: `job:${n}`, data: { n } });
    await sendEach(o, 'api', [job(1), job(2)]);
    expect(scored(await entriesOf(o)).map(reasonOf)).toEqual(['gate.admitted', 'envelope.id_taken']);
    mode = 'input-id';
    await sendEach(o, 'api', [job(3)]);
    expect(
      scored(await entriesOf(o))
        .map(reasonOf)
        .at(-1),
    ).toBe('envelope.id_taken');
  });
});
