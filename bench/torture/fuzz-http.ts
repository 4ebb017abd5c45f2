// Fuzz the doors of a real `up` on loopback with fast-check: the messages API, MCP's JSON-RPC, A2A's
// JSON-RPC and REST bindings. Every answer must be below 500, every 4xx typed (an MW_* code or a
// JSON-RPC error), every id an answer names must be in the ledger, and the server must still answer.
import fc from 'fast-check';
import { api, type Progress, readLedger, type UpHandle } from './lib.ts';

/** One broken invariant: where, what was sent (cut short), what came back. */
export type FuzzFailure = {
  door: string;
  input: string;
  status: number;
  body: string;
  problem: string;
  log?: string;
};

export type DoorResult = { door: string; runs: number; statuses: Record<string, number>; failures: number };

type Door = {
  name: string;
  path: string;
  headers: Record<string, string>;
  body: fc.Arbitrary<string | Uint8Array>;
};

const json = fc.jsonValue({ maxDepth: 4 });
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('', 'job.v1', 'job:1', 'load'),
);
const amount = fc.oneof(fc.integer(), fc.double(), fc.constant(95), fc.constant(5));
const jobData = fc.oneof(
  json,
  fc.record({ n: fc.oneof(fc.nat(), fc.integer()), amount }, { requiredKeys: [] }),
);
const enc = (v: unknown) => JSON.stringify(v);
const bytes = fc.uint8Array({ maxLength: 2_000 });

function a2aMessage() {
  return fc.record(
    {
      messageId: fc.oneof(fc.uuid(), text),
      role: fc.oneof(fc.constantFrom('ROLE_USER', 'user', 'agent'), text),
      kind: fc.constant('message'),
      parts: fc.array(
        fc.oneof(
          fc.record({ data: jobData }, { requiredKeys: [] }),
          fc.record({ kind: fc.constant('data'), data: jobData }),
          fc.record({ text }),
          json,
        ),
        { maxLength: 3 },
      ),
      metadata: fc.oneof(fc.record({ subject: text, type: text }, { requiredKeys: [] }), json),
      taskId: text,
      contextId: text,
    },
    { requiredKeys: [] },
  );
}

function doors(): Door[] {
  const jsonType = { 'content-type': 'application/json' };
  const mcpHeaders = { ...jsonType, accept: 'application/json, text/event-stream' };
  const a2aHeaders = { ...jsonType, 'a2a-version': '1.0' };
  const rpc = (method: fc.Arbitrary<string>, params: fc.Arbitrary<unknown>) =>
    fc.record(
      { jsonrpc: fc.constantFrom('2.0', '1.0'), id: fc.oneof(fc.nat(), text), method, params },
      { requiredKeys: [] },
    );
  return [
    {
      name: 'POST /messages (JSON)',
      path: '/messages',
      headers: jsonType,
      body: fc
        .oneof(
          json,
          fc.record(
            { type: text, subject: text, data: jobData, ingress: text, to: text },
            { requiredKeys: ['type', 'subject', 'data'] },
          ),
          fc.record({ type: fc.constant('job.v1'), subject: text, data: jobData }),
        )
        .map(enc),
    },
    { name: 'POST /messages (bytes)', path: '/messages', headers: jsonType, body: bytes },
    {
      name: 'POST /mcp (JSON-RPC)',
      path: '/mcp',
      headers: mcpHeaders,
      body: fc
        .oneof(
          json,
          rpc(
            fc.constant('tools/call'),
            fc.record({
              name: fc.oneof(fc.constant('load__job_v1'), text),
              arguments: fc.oneof(json, fc.record({ subject: text, data: jobData }, { requiredKeys: [] })),
            }),
          ),
          rpc(fc.oneof(fc.constantFrom('tools/list', 'initialize', 'ping', 'resources/list'), text), json),
        )
        .map(enc),
    },
    { name: 'POST /mcp (bytes)', path: '/mcp', headers: mcpHeaders, body: bytes },
    {
      name: 'POST /a2a/load (JSON-RPC)',
      path: '/a2a/load',
      headers: a2aHeaders,
      body: fc
        .oneof(
          json,
          rpc(
            fc.oneof(
              fc.constantFrom('SendMessage', 'message/send', 'GetTask', 'tasks/get', 'ListTasks'),
              text,
            ),
            fc.oneof(
              json,
              fc.record({ message: a2aMessage(), id: text, tenant: text }, { requiredKeys: [] }),
            ),
          ),
        )
        .map(enc),
    },
    { name: 'POST /a2a/load (bytes)', path: '/a2a/load', headers: a2aHeaders, body: bytes },
    {
      name: 'POST /a2a/load/rest/message:send',
      path: '/a2a/load/rest/message:send',
      headers: a2aHeaders,
      body: fc.oneof(json, fc.record({ message: a2aMessage(), tenant: text }, { requiredKeys: [] })).map(enc),
    },
  ];
}

/** A 4xx the caller can act on: an MW_* code, a JSON-RPC error, or the A2A REST binding's error object. */
export function typedError(body: unknown): boolean {
  if (body === null || typeof body !== 'object') return false;
  const b = body as { error?: unknown; code?: unknown; jsonrpc?: unknown };
  const e = b.error as { code?: unknown; status?: unknown } | undefined;
  if (typeof e?.code === 'string' && e.code.startsWith('MW_')) return true;
  if (b.jsonrpc === '2.0' && typeof e?.code === 'number') return true;
  return typeof e?.code === 'number' || typeof b.code === 'number';
}

/** Message ids an answer says the gate decided: `{ id, verdict }`, `{ id, decision }` anywhere in it. */
export function decidedIds(body: unknown, into: Set<string>): void {
  if (Array.isArray(body)) for (const v of body) decidedIds(v, into);
  else if (body !== null && typeof body === 'object') {
    const o = body as Record<string, unknown>;
    if (typeof o.id === 'string' && (typeof o.decision === 'string' || typeof o.verdict === 'object'))
      into.add(o.id);
    for (const v of Object.values(o)) decidedIds(v, into);
  }
}

/** Parses a reply body: JSON, or the JSON of the first `data:` line of an event stream. */
function parseReply(text: string): unknown {
  try {
    return text === '' ? null : JSON.parse(text);
  } catch {
    const data = /^data: (.*)$/m.exec(text);
    if (data) {
      try {
        return JSON.parse(data[1]!);
      } catch {
        // fall through
      }
    }
    return text;
  }
}

export async function fuzzHttp(opts: {
  up: UpHandle;
  token: string;
  data: string;
  runs: number;
  seed: number;
  progress: Progress;
}): Promise<{ doors: DoorResult[]; failures: FuzzFailure[]; decided: number }> {
  const failures: FuzzFailure[] = [];
  const decided = new Set<string>();
  const results: DoorResult[] = [];
  for (const door of doors()) {
    const statuses: Record<string, number> = {};
    const before = failures.length;
    await fc.assert(
      fc.asyncProperty(door.body, async (body) => {
        let status = 0;
        let reply: unknown;
        try {
          const res = await fetch(`${opts.up.api}${door.path}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${opts.token}`, ...door.headers },
            body,
          });
          status = res.status;
          reply = parseReply(await res.text());
        } catch (err) {
          reply = String(err);
        }
        statuses[status] = (statuses[status] ?? 0) + 1;
        let problem: string | undefined;
        if (status === 0) problem = 'no answer (connection failed)';
        else if (status >= 500) problem = 'status >= 500';
        else if (status >= 400 && !typedError(reply)) problem = '4xx without a typed error';
        if (status >= 200 && status < 300) decidedIds(reply, decided);
        if (problem !== undefined) {
          failures.push({
            door: door.name,
            input: (typeof body === 'string' ? body : `bytes:${Buffer.from(body).toString('hex')}`).slice(
              0,
              300,
            ),
            status,
            body: (typeof reply === 'string' ? reply : JSON.stringify(reply)).slice(0, 300),
            problem,
            log: opts.up.stderr().slice(-600),
          });
        }
      }),
      { numRuns: opts.runs, seed: opts.seed, endOnFailure: false },
    );
    const health = await api(opts.up.api, opts.token, 'GET', '/health').catch(() => ({ status: 0 }));
    if (health.status !== 200)
      failures.push({
        door: door.name,
        input: '(after the run)',
        status: health.status,
        body: '',
        problem: 'the server no longer answers',
      });
    results.push({ door: door.name, runs: opts.runs, statuses, failures: failures.length - before });
    opts.progress(
      `fuzz ${door.name}: ${opts.runs} bodies, statuses ${JSON.stringify(statuses)}, ${failures.length - before} failures`,
    );
  }
  // Every id the doors answered with was decided, so it must be in the ledger.
  const inLedger = new Set(
    readLedger(opts.data)
      .filter((r) => r.kind === 'decision')
      .map((r) => r.msgId),
  );
  for (const id of decided) {
    if (!inLedger.has(id))
      failures.push({
        door: 'ledger',
        input: id,
        status: 0,
        body: '',
        problem: 'an answered decision is not in the ledger',
      });
  }
  return { doors: results, failures, decided: decided.size };
}
