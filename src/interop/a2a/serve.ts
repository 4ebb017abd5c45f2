import type { IncomingMessage } from 'node:http';
import type { Message, SendMessageRequest, StreamResponse, Task } from '@a2a-js/sdk';
import { RequestMalformedError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import {
  DefaultExecutionEventBusManager,
  DefaultRequestHandler,
  type ServerCallContext,
  type TaskStore,
} from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, restHandler } from '@a2a-js/sdk/server/express';
import express from 'express';
import type { A2aCaller, A2aEndpoint, Mesh } from '../../runtime/index.js';
import { a2aError } from './errors.js';
import { createFollowing } from './follow.js';
import { cardOf, type Served, servedAs } from './serve-card.js';
import { agentExecutor, ingressExecutor, type ServedUser } from './serve-tasks.js';
import { createBoundedTaskStore } from './task-store.js';

/**
 * The mesh as A2A agents, for the shell to mount behind its own auth. Two kinds share one name
 * space (the policy keeps agent and ingress names apart):
 * - each ingress: a message enters the mesh through it and the answer is the gate's verdict;
 * - each agent the policy exposes (`expose: { via }`): a message enters through `via`, addressed to
 *   the agent, and the answer is a task that follows it through the gate, a pilot's hold and the
 *   agent's handling to what the agent answered, as far as the gate admitted it.
 * Every binding is the official SDK's own server code: the card, JSON-RPC and HTTP+JSON (REST), in
 * A2A 1.0 and, through its compat layer, 0.3 (told apart by the `A2A-Version` header, as the SDK does).
 */
export type MeshA2aServer = A2aEndpoint;

export type MeshA2aServerOptions = {
  /** Tasks remembered per exposed agent and caller; a caller's oldest are forgotten past it. Default 1,000. */
  readonly maxTasksPerCaller?: number;
};

const legacyCompat = { enabled: true };
/** Request apps kept for reuse, per name, policy and address (a Host header can vary the address). */
const APPS_KEPT = 64;
/** The caller, as the shell named them, handed to the SDK's user builder on the request. */
const CALLER = Symbol('meshwarden.a2a.caller');
type WithCaller = IncomingMessage & { [CALLER]?: A2aCaller };

export function createMeshA2aServer(mesh: Mesh, opts: MeshA2aServerOptions = {}): MeshA2aServer {
  const following = createFollowing(mesh);
  // Per exposed agent, across calls and policy reloads: its tasks (GetTask, ListTasks) and buses.
  const agentState = new Map<string, { tasks: TaskStore; buses: DefaultExecutionEventBusManager }>();
  const stateOf = (agent: string) => {
    let state = agentState.get(agent);
    if (state === undefined) {
      state = {
        tasks: createBoundedTaskStore(opts.maxTasksPerCaller ?? 1000),
        buses: new DefaultExecutionEventBusManager(),
      };
      agentState.set(agent, state);
    }
    return state;
  };
  const apps = new Map<string, express.Express>();
  const appFor = (served: Served, name: string, base: string): express.Express => {
    const key = `${mesh.policy.digest} ${name} ${base}`;
    const kept = apps.get(key);
    if (kept !== undefined) return kept;
    const app = buildApp(mesh, served, base, (agent) => stateOf(agent), following);
    apps.set(key, app);
    if (apps.size > APPS_KEPT) apps.delete(apps.keys().next().value!);
    return app;
  };

  return {
    serves: (name) => servedAs(mesh, name) !== undefined,
    exposes: (name) => servedAs(mesh, name)?.kind === 'agent',
    serve(name, base, req, res, caller) {
      const served = servedAs(mesh, name);
      if (served === undefined) return Promise.resolve({ handled: false });
      const app = appFor(served, name, base);
      (req as WithCaller)[CALLER] = caller;
      return new Promise((resolve) => {
        // An express app is a Node request listener; the SDK's handlers add express's own methods.
        app(req as express.Request, res as express.Response, (error?: unknown) =>
          resolve(error === undefined ? { handled: false } : { handled: false, error }),
        );
        res.once('close', () => resolve({ handled: true }));
      });
    },
  };
}

function buildApp(
  mesh: Mesh,
  served: Served,
  base: string,
  stateOf: (agent: string) => { tasks: TaskStore; buses: DefaultExecutionEventBusManager },
  following: ReturnType<typeof createFollowing>,
): express.Express {
  const path = new URL(base).pathname;
  const card = cardOf(mesh, served, base);
  const app = express();
  app.disable('x-powered-by');
  // No caching: a policy reload changes the card.
  app.use(
    `${path}/.well-known/agent-card.json`,
    agentCardHandler({ agentCardProvider: async () => card, legacyCompat, cache: { maxAge: 0 } }),
  );
  const requestHandler =
    served.kind === 'ingress'
      ? new ServedRequestHandler(card, createBoundedTaskStore(1), ingressExecutor(mesh, served))
      : (() => {
          const { tasks, buses } = stateOf(served.spec.name);
          return new ServedRequestHandler(card, tasks, agentExecutor(mesh, served, following), buses);
        })();
  // Only a caller the shell authenticated gets past the card.
  const callers = express.Router();
  callers.use((req, _res, next) => next((req as WithCaller)[CALLER] === undefined ? 'router' : undefined));
  const userBuilder = async (req: express.Request): Promise<ServedUser> => {
    const caller = (req as WithCaller)[CALLER];
    return {
      isAuthenticated: true,
      userName: caller?.name ?? '',
      partner: caller?.partner === true,
      key: caller?.key ?? '',
      // W3C trace context: the case continues the caller's trace (the runtime ignores a malformed one).
      ...(typeof req.headers.traceparent === 'string' ? { traceparent: req.headers.traceparent } : {}),
    };
  };
  callers.use(`${path}/rest`, restHandler({ requestHandler, userBuilder, legacyCompat }));
  callers.use(path, jsonRpcHandler({ requestHandler, userBuilder, legacyCompat }));
  app.use(callers);
  return app;
}

/**
 * The SDK's request handler, held to what the mesh serves: one tenant (a made-up tenant would grow
 * the SDK's stores), and a task per message (a second message for a task would start a second
 * mesh message inside it and overwrite its state).
 */
class ServedRequestHandler extends DefaultRequestHandler {
  override sendMessage(params: SendMessageRequest, context: ServerCallContext): Promise<Message | Task> {
    newTaskOnly(params, context);
    return super.sendMessage(params, context);
  }
  override sendMessageStream(
    params: SendMessageRequest,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse, void, undefined> {
    newTaskOnly(params, context);
    return super.sendMessageStream(params, context);
  }
  override getTask(...args: Parameters<DefaultRequestHandler['getTask']>) {
    oneTenant(args[1]);
    return super.getTask(...args);
  }
  override listTasks(...args: Parameters<DefaultRequestHandler['listTasks']>) {
    oneTenant(args[1]);
    return super.listTasks(...args);
  }
  override cancelTask(...args: Parameters<DefaultRequestHandler['cancelTask']>) {
    oneTenant(args[1]);
    return super.cancelTask(...args);
  }
  override resubscribe(...args: Parameters<DefaultRequestHandler['resubscribe']>) {
    oneTenant(args[1]);
    return super.resubscribe(...args);
  }
}

function oneTenant(context: ServerCallContext): void {
  const tenant = context.tenant ?? '';
  if (tenant !== '') throw new RequestMalformedError(a2aError('MW_INTEROP_A2A_TENANT', { tenant }).message);
}

function newTaskOnly(params: SendMessageRequest, context: ServerCallContext): void {
  oneTenant(context);
  const task = params.message?.taskId ?? '';
  if (task !== '') throw new UnsupportedOperationError(a2aError('MW_INTEROP_A2A_CONTINUE', { task }).message);
}
