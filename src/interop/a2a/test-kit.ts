import { randomUUID } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import { AgentCard, Message, Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent } from '@a2a-js/sdk';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import {
  type A2ARequestHandler,
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  defaultServerCallContextBuilder,
  type ExecutionEventBus,
  InMemoryTaskStore,
  JsonRpcTransportHandler,
  type RequestContext,
} from '@a2a-js/sdk/server';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';

/** How the peer answers the next message. */
export type PeerMode =
  | 'message'
  | 'task'
  | 'wrong-type'
  | 'failed'
  | 'input-required'
  | 'rpc-error'
  | 'garbage'
  | 'too-big'
  | 'slow'
  /** Answers at once with a task still working (as agents that will not block do), done `longMs` later. */
  | 'long';

export type A2aPeer = {
  mode: PeerMode;
  /** How long a `long` task works before it completes. */
  longMs: number;
  /** When set, every request (the card too) must carry it as `X-Api-Key`, or gets 401. */
  apiKey: string | undefined;
  /** The messages the agent received, as the SDK server handed them to the executor. */
  readonly received: Message[];
  /** `path method` of each JSON-RPC call, to tell A2A 1.0 (`SendMessage`) from 0.3 (`message/send`). */
  readonly calls: string[];
  /** Its A2A 1.0 card, and an A2A 0.3 card for the same agent (`/not-a-card.json` is JSON, no card). */
  readonly cardUrl: string;
  readonly legacyCardUrl: string;
  close(): Promise<void>;
};

/**
 * A real A2A agent for tests, made of the official SDK's server parts (express is not installed, so
 * its JSON-RPC transport handlers are mounted on Fastify): the retention example's churn step. Given
 * a data part `{ score }` it answers `churn.assessed.v1` `{ probability }`, or misbehaves as `mode` says.
 */
export async function startA2aPeer(): Promise<A2aPeer> {
  const app = Fastify();
  const peer = {
    mode: 'message' as PeerMode,
    longMs: 50,
    apiKey: undefined as string | undefined,
    received: [] as Message[],
    calls: [] as string[],
  };
  app.addHook('onRequest', async (request, reply) => {
    if (peer.apiKey !== undefined && request.headers['x-api-key'] !== peer.apiKey)
      return reply.code(401).type('text/plain').send('an API key is required');
  });
  let base = '';
  const card = (inputModes: string[]) =>
    AgentCard.fromJSON({
      name: 'churn',
      description: 'Turns a ticket sentiment score into a churn probability.',
      version: '2.0.1',
      supportedInterfaces: [{ url: `${base}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
      capabilities: { streaming: false },
      defaultInputModes: inputModes,
      defaultOutputModes: ['application/json'],
      skills: [{ id: 'churn', name: 'churn', description: 'churn probability', tags: ['retention'] }],
    });
  const executor = churnExecutor(peer);
  const store = new InMemoryTaskStore();
  let normal: A2ARequestHandler | undefined;
  let strict: A2ARequestHandler | undefined;
  const handler = () => {
    normal ??= new DefaultRequestHandler(card(['application/json']), store, executor);
    // Accepts text only and says so, so the SDK refuses our JSON with a JSON-RPC error (-32005).
    const defaults = [undefined, undefined, undefined, undefined, undefined] as const;
    const refuseJson = { validateInputModes: true };
    strict ??= new DefaultRequestHandler(card(['text/plain']), store, executor, ...defaults, refuseJson);
    return peer.mode === 'rpc-error' ? strict : normal;
  };

  const rpc = (legacy: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    peer.calls.push(`${request.url} ${(request.body as { method?: string }).method}`);
    if (peer.mode === 'garbage') return reply.type('application/json').send('{"jsonrpc": ');
    const version = request.headers['a2a-version'];
    const context = defaultServerCallContextBuilder({
      extensions: undefined,
      user: undefined,
      headers: request.headers,
      ...(typeof version === 'string' ? { requestedVersion: version } : {}),
    });
    const transport = legacy
      ? new LegacyJsonRpcTransportHandler(handler())
      : new JsonRpcTransportHandler(handler());
    const body = request.body as { method?: string; params?: { configuration?: Record<string, unknown> } };
    // `long`: an agent that answers every send at once, whatever the caller asked.
    if (peer.mode === 'long' && body.method === 'SendMessage' && body.params !== undefined)
      body.params.configuration = { ...body.params.configuration, returnImmediately: true };
    const answer = await transport.handle(body as Record<string, unknown>, context);
    return reply.type('application/json').send(JSON.stringify(answer));
  };
  app.post('/a2a', rpc(false));
  app.post('/v03/a2a', rpc(true));
  app.get('/.well-known/agent-card.json', () => handler().getAgentCard());
  // The same agent as an A2A 0.3 server describes itself: one url, no supportedInterfaces.
  app.get('/v03/.well-known/agent-card.json', async () => ({
    ...(AgentCard.toJSON(card(['application/json'])) as object),
    supportedInterfaces: undefined,
    url: `${base}/v03/a2a`,
    protocolVersion: '0.3.0',
    preferredTransport: 'JSONRPC',
  }));
  app.get('/not-a-card.json', async () => ({ hello: 'world' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return Object.assign(peer, {
    cardUrl: `${base}/.well-known/agent-card.json`,
    legacyCardUrl: `${base}/v03/.well-known/agent-card.json`,
    close: () => app.close(),
  });
}

/** The churn step of examples/retention/agents/churn.ts, as an A2A agent executor. */
function churnExecutor(peer: { mode: PeerMode; longMs: number; received: Message[] }): AgentExecutor {
  return {
    async execute(request: RequestContext, bus: ExecutionEventBus) {
      const incoming = request.userMessage;
      peer.received.push(incoming);
      const input = incoming.parts[0]?.content;
      const score = Number(input?.$case === 'data' ? (input.value as { score?: unknown }).score : 0);
      const probability = Math.round((0.5 - score / 2) * 100) / 100;
      const { taskId, contextId, task } = request;
      if (peer.mode === 'slow') await new Promise((resolve) => setTimeout(resolve, 500));
      if (['message', 'wrong-type', 'slow', 'too-big'].includes(peer.mode)) {
        const type = peer.mode === 'wrong-type' ? 'ticket.scored.v1' : 'churn.assessed.v1';
        const pad = peer.mode === 'too-big' ? { pad: 'x'.repeat(4096) } : {};
        const data = { probability, ...pad };
        const parts = [{ data, metadata: { type }, mediaType: 'application/json' }];
        bus.publish(
          AgentEvent.message(
            Message.fromJSON({ messageId: randomUUID(), contextId, role: 'ROLE_AGENT', parts }),
          ),
        );
        return bus.finished();
      }
      // Every other mode runs a task, which must be published before its updates.
      bus.publish(
        AgentEvent.task(
          task ?? Task.fromJSON({ id: taskId, contextId, status: { state: 'TASK_STATE_SUBMITTED' } }),
        ),
      );
      const settle = (state: string, text?: string) => {
        const message = text && {
          messageId: randomUUID(),
          contextId,
          taskId,
          role: 'ROLE_AGENT',
          parts: [{ text }],
        };
        bus.publish(
          AgentEvent.statusUpdate(
            TaskStatusUpdateEvent.fromJSON({ taskId, contextId, status: { state, message } }),
          ),
        );
        bus.finished();
      };
      if (peer.mode === 'failed') return settle('TASK_STATE_FAILED', 'the churn model is down');
      // input-required: the first message asks; the one that continues the task gets the answer.
      if (peer.mode === 'input-required' && task === undefined)
        return settle('TASK_STATE_INPUT_REQUIRED', 'which plan is the account on?');
      if (peer.mode === 'long') {
        bus.publish(
          AgentEvent.statusUpdate(
            TaskStatusUpdateEvent.fromJSON({ taskId, contextId, status: { state: 'TASK_STATE_WORKING' } }),
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, peer.longMs));
      }
      // No metadata.type on the artifact's part: churn emits one type only.
      const artifact = {
        artifactId: 'assessment',
        parts: [{ data: { probability }, mediaType: 'application/json' }],
      };
      bus.publish(
        AgentEvent.artifactUpdate(TaskArtifactUpdateEvent.fromJSON({ taskId, contextId, artifact })),
      );
      settle('TASK_STATE_COMPLETED');
    },
    async cancelTask() {},
  };
}

/** A loopback port nothing listens on: one a server just gave back. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
