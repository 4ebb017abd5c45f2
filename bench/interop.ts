// npm run bench:interop [-- --quick]: what serving the mesh to other organisations costs per call.
// Starts `up` on examples/partners and drives it with the official clients over loopback HTTP:
// an A2A client calling the exposed churn agent (a blocking SendMessage that comes back as the
// completed task with churn's gated answer: two gate decisions, a delivery and the durable ledger
// in between), and an MCP client calling the mesh's tool for the same ingress (one gate decision).
// Each one at a time (latency) and 16 at once (throughput). Writes bench/results/interop.json.
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type AgentCard, Role, type SendMessageRequest, type Task, TaskState } from '@a2a-js/sdk';
import { type Client as A2aClient, ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { Client as McpClient, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { quantile, round } from './stats.ts';
import { ROOT as root, startBenchUp } from './up.ts';

const QUICK = process.argv.includes('--quick');
const SEQUENTIAL = QUICK ? 200 : 1_000;
const CONCURRENT_SECONDS = QUICK ? 2 : 5;
const IN_FLIGHT = 16;
const progress = (text: string) => process.stderr.write(`${text}\n`);

const up = startBenchUp(join(root, 'examples/partners/mesh.yaml'), 'interop');

/** Each call on its own subject: the example's per-account rate limit must not be what is measured. */
let subjects = 0;
const subject = () => `account:${++subjects}`;

function scored(): SendMessageRequest {
  return {
    tenant: '',
    message: {
      messageId: randomUUID(),
      contextId: '',
      taskId: '',
      role: Role.ROLE_USER,
      parts: [
        {
          content: { $case: 'data', value: { score: -0.4 } },
          metadata: undefined,
          filename: '',
          mediaType: 'application/json',
        },
      ],
      metadata: { subject: subject() },
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: undefined,
    metadata: undefined,
  } as SendMessageRequest;
}

async function a2aCall(client: A2aClient): Promise<void> {
  const task = (await client.sendMessage(scored())) as Task;
  if (task.status?.state !== TaskState.TASK_STATE_COMPLETED || task.artifacts.length !== 1)
    throw new Error(`the task ended ${TaskState[task.status?.state ?? 0]}`);
}

async function mcpCall(client: McpClient): Promise<void> {
  const result = await client.callTool({
    name: 'churn__ticket_scored_v1',
    arguments: { subject: subject(), data: { score: -0.4 } },
  });
  if (result.isError) throw new Error(`the call was refused: ${JSON.stringify(result.structuredContent)}`);
}

/** Latency of calls one at a time (ms), then calls a second with `IN_FLIGHT` callers for a while. */
async function measure(name: string, call: () => Promise<void>) {
  for (let i = 0; i < 20; i++) await call(); // warm-up: connections, JIT
  const times: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t = performance.now();
    await call();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  let done = 0;
  const end = performance.now() + CONCURRENT_SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < end) {
        await call();
        done++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const result = {
    p50Ms: round(quantile(times, 0.5), 2),
    p99Ms: round(quantile(times, 0.99), 2),
    callsPerSecond: Math.round(done / seconds),
  };
  progress(
    `${name}: one at a time p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms; ${IN_FLIGHT} at once ${result.callsPerSecond} calls/s`,
  );
  return result;
}

try {
  const started = await up.started;
  const authorized: typeof fetch = (input, init) =>
    fetch(input, {
      ...init,
      headers: {
        ...Object.fromEntries(new Headers(init?.headers).entries()),
        authorization: `Bearer ${started.token}`,
      },
    });
  const card = (await (
    await fetch(`${started.api}/a2a/churn/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })
  ).json()) as AgentCard;
  const a2a = await new ClientFactory({
    transports: [new JsonRpcTransportFactory({ fetchImpl: authorized })],
  }).createFromAgentCard(card);
  const mcp = new McpClient({ name: 'bench', version: '1' });
  await mcp.connect(
    new StreamableHTTPClientTransport(new URL(`${started.api}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${started.token}` } },
    }),
  );

  progress(
    `interop bench: ${SEQUENTIAL} calls one at a time, then ${CONCURRENT_SECONDS} s with ${IN_FLIGHT} at once`,
  );
  const result = {
    node: process.version,
    quick: QUICK,
    a2aExposedAgent: await measure('A2A SendMessage to an exposed agent (completed task)', () =>
      a2aCall(a2a),
    ),
    mcpTool: await measure('MCP tools/call into an ingress', () => mcpCall(mcp)),
  };
  await mcp.close();
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results/interop.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write('wrote bench/results/interop.json\n');
} finally {
  await up.stop();
}
