import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AgentCard,
  type Artifact,
  Message,
  Task,
  TaskArtifactUpdateEvent,
  TaskStatusUpdateEvent,
} from '@a2a-js/sdk';
import { duplicateInterfacesForLegacy } from '@a2a-js/sdk/compat/v0_3';
import { TaskNotCancelableError } from '@a2a-js/sdk/errors';
import {
  AgentEvent,
  type AgentExecutor,
  DefaultExecutionEventBusManager,
  DefaultRequestHandler,
  type ExecutionEventBusManager,
  type RequestContext,
  type TaskStore,
  type User,
} from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, restHandler } from '@a2a-js/sdk/server/express';
import express from 'express';
import type { AgentSpec, JsonValue, Mesh, MeshEvent } from '../../runtime/index.js';
import { followMessage } from './follow.js';
import { createBoundedTaskStore } from './task-store.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const VERDICT_TYPE = 'meshwarden.verdict';

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
export type MeshA2aServer = {
  /** Whether `name` is an ingress or an exposed agent of the policy in force. */
  serves(name: string): boolean;
  /**
   * Answers one HTTP request under `base` (`<origin>/api/v1/a2a/<name>`): the card at
   * `base/.well-known/agent-card.json`, JSON-RPC at `base`, REST under `base/rest`. The body is
   * read from `req`, unread. `caller` is the token's name, recorded as `a2a:<caller>`; without one
   * only the card is served.
   */
  serve(
    name: string,
    base: string,
    req: IncomingMessage,
    res: ServerResponse,
    caller: string | undefined,
  ): Promise<void>;
};

export type MeshA2aServerOptions = {
  /** Tasks remembered per exposed agent (all callers); the oldest are forgotten past it. Default 10,000. */
  readonly maxTasks?: number;
};

/** What a name serves, read from the policy in force (a reload shows at once). */
type Served =
  | { readonly kind: 'ingress'; readonly name: string; readonly emits: readonly string[] }
  | {
      readonly kind: 'agent';
      readonly spec: AgentSpec;
      readonly via: string;
      readonly accepts: readonly string[];
    };

const legacyCompat = { enabled: true };

export function createMeshA2aServer(mesh: Mesh, opts: MeshA2aServerOptions = {}): MeshA2aServer {
  // Per exposed agent, across calls: its tasks (GetTask, ListTasks) and its running tasks' buses.
  const agentState = new Map<string, { tasks: TaskStore; buses: ExecutionEventBusManager }>();
  const stateOf = (agent: string) => {
    let state = agentState.get(agent);
    if (state === undefined) {
      state = {
        tasks: createBoundedTaskStore(opts.maxTasks ?? 10_000),
        buses: new DefaultExecutionEventBusManager(),
      };
      agentState.set(agent, state);
    }
    return state;
  };

  const servedAs = (name: string): Served | undefined => {
    const ingress = mesh.policy.ingress.get(name);
    if (ingress !== undefined) return { kind: 'ingress', name, emits: ingress.emits };
    const spec = mesh.policy.agents.get(name);
    const via = spec?.expose === undefined ? undefined : mesh.policy.ingress.get(spec.expose.via);
    if (spec === undefined || via === undefined) return undefined;
    return {
      kind: 'agent',
      spec,
      via: via.name,
      accepts: via.emits.filter((t) => spec.consumes.includes(t)),
    };
  };

  return {
    serves: (name) => servedAs(name) !== undefined,
    serve(name, base, req, res, caller) {
      const served = servedAs(name);
      const path = new URL(base).pathname;
      const app = express();
      app.disable('x-powered-by');
      if (served !== undefined) {
        const card = cardOf(mesh, served, base);
        // No caching: a policy reload changes the skills.
        app.use(
          `${path}/.well-known/agent-card.json`,
          agentCardHandler({ agentCardProvider: async () => card, legacyCompat, cache: { maxAge: 0 } }),
        );
        if (caller !== undefined) {
          const user: User = { isAuthenticated: true, userName: caller };
          const userBuilder = async () => user;
          const requestHandler =
            served.kind === 'ingress'
              ? new DefaultRequestHandler(
                  card,
                  createBoundedTaskStore(1),
                  ingressExecutor(mesh, served, caller),
                )
              : (() => {
                  const { tasks, buses } = stateOf(served.spec.name);
                  return new DefaultRequestHandler(card, tasks, agentExecutor(mesh, served, caller), buses);
                })();
          app.use(`${path}/rest`, restHandler({ requestHandler, userBuilder, legacyCompat }));
          app.use(path, jsonRpcHandler({ requestHandler, userBuilder, legacyCompat }));
        }
      }
      return new Promise((resolve) => {
        res.once('close', () => resolve());
        // An express app is a Node request listener; the SDK's handlers add express's own req/res methods.
        app(req as express.Request, res as express.Response, () => {
          res.statusCode = 404;
          res.setHeader('content-type', 'application/json');
          res.end(
            JSON.stringify({
              error: { code: 'MW_API_NOT_FOUND', message: `No A2A route ${req.method} ${req.url}.` },
            }),
          );
        });
      });
    },
  };
}

function cardOf(mesh: Mesh, served: Served, base: string): AgentCard {
  const v1 = [
    { url: base, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' },
    { url: `${base}/rest`, protocolBinding: 'HTTP+JSON', protocolVersion: '1.0', tenant: '' },
  ];
  const common = {
    // The same endpoints speak 0.3 to 0.3 clients; the SDK serves them a 0.3 card that names them.
    supportedInterfaces: duplicateInterfacesForLegacy(v1, ['JSONRPC', 'HTTP+JSON']),
    capabilities: { streaming: false },
    defaultInputModes: ['application/json', 'text/plain'],
    defaultOutputModes: ['application/json'],
  };
  if (served.kind === 'ingress') {
    return AgentCard.fromJSON({
      ...common,
      name: `${mesh.policy.mesh}/${served.name}`,
      description: `Sends messages into mesh ${mesh.policy.mesh} through its ${served.name} ingress; each passes the warden's gate, and the answer is the verdict.`,
      version: '1',
      skills: served.emits.map((type) => ({
        id: type,
        name: type,
        description: `A ${type} message: a data part, with metadata.type "${type}" and metadata.subject the entity.`,
        tags: ['meshwarden', served.name],
      })),
    });
  }
  const { spec } = served;
  const answers = spec.emits.length === 0 ? 'nothing it emits' : spec.emits.join(', ');
  return AgentCard.fromJSON({
    ...common,
    name: `${mesh.policy.mesh}/${spec.name}`,
    description: `Agent ${spec.name} of mesh ${mesh.policy.mesh}, behind the warden: what you send enters through the ${served.via} ingress and passes the gate; the task follows it to the agent's answer (${answers}), as far as the gate admits it.`,
    version: spec.version,
    skills: served.accepts.map((type) => ({
      id: type,
      name: type,
      description: `Send a ${type} message (a data part, metadata.subject the entity); ${spec.name} answers with ${answers}.`,
      tags: ['meshwarden', spec.name],
    })),
  });
}

/** What an A2A message says: the data of its first part, and its type, subject and id. */
function rootOf(message: RequestContext['userMessage'], types: readonly string[]) {
  const content = message.parts[0]?.content;
  const data: JsonValue =
    content?.$case === 'data'
      ? (content.value as JsonValue)
      : content?.$case === 'text'
        ? { text: content.value }
        : null;
  const meta = (message.metadata ?? {}) as Record<string, unknown>;
  const type = typeof meta.type === 'string' ? meta.type : types.length === 1 ? types[0]! : '';
  const subject = typeof meta.subject === 'string' ? meta.subject : '';
  // A client's UUID is the envelope id, so one sent twice is caught as a duplicate.
  const id = UUID.test(message.messageId) ? message.messageId : randomUUID();
  return { data, type, subject, id };
}

type Verdict = { decision: string; reason: string; detail?: string };

function verdictOf(entry: { msgId?: string | undefined; data: unknown }) {
  const { verdict } = entry.data as { verdict: Verdict };
  return {
    id: entry.msgId ?? '',
    decision: verdict.decision,
    reason: verdict.reason,
    detail: verdict.detail,
  };
}

/**
 * An ingress: the message is a root message through it; whatever is missing is left for the gate
 * to refuse, so it is recorded, not dropped. The answer is a message with the verdict.
 */
function ingressExecutor(
  mesh: Mesh,
  served: Extract<Served, { kind: 'ingress' }>,
  caller: string,
): AgentExecutor {
  return {
    async execute(request, bus) {
      const root = rootOf(request.userMessage, served.emits);
      const entry = await mesh.inject(served.name, { ...root, sentBy: `a2a:${caller}` });
      bus.publish(AgentEvent.message(agentMessage(request.contextId, undefined, verdictOf(entry))));
      bus.finished();
    },
    async cancelTask() {},
  };
}

/**
 * An exposed agent: the message enters through its ingress addressed to it, and the task follows it.
 * Denied or quarantined: `rejected`. Held for a pilot: `auth-required` (a blocking call returns
 * there; the task goes on when a pilot decides, and GetTask shows it). Delivered: `working`, then
 * `completed` with one artifact per message the agent emitted that the gate delivered, or `failed`
 * when the agent's handling was dead-lettered. What the gate did not admit (held, denied) is named
 * in the final status, never sent out.
 */
function agentExecutor(
  mesh: Mesh,
  served: Extract<Served, { kind: 'agent' }>,
  caller: string,
): AgentExecutor {
  return {
    async execute(request, bus) {
      const { taskId, contextId } = request;
      const update = (state: string, answer?: Record<string, unknown>, text?: string) =>
        bus.publish(
          AgentEvent.statusUpdate(
            TaskStatusUpdateEvent.fromJSON({
              taskId,
              contextId,
              status: {
                state,
                timestamp: new Date().toISOString(),
                ...(answer === undefined
                  ? {}
                  : { message: Message.toJSON(agentMessage(contextId, taskId, answer, text)) }),
              },
            }),
          ),
        );
      bus.publish(
        AgentEvent.task(
          Task.fromJSON({
            id: taskId,
            contextId,
            status: { state: 'TASK_STATE_SUBMITTED', timestamp: new Date().toISOString() },
            history: [Message.toJSON(request.userMessage)],
          }),
        ),
      );
      const root = rootOf(request.userMessage, served.accepts);
      const follow = followMessage(mesh, root.id);
      try {
        const entry = await mesh.inject(served.via, {
          ...root,
          target: served.spec.name,
          sentBy: `a2a:${caller}`,
        });
        const verdict = verdictOf(entry);
        if (verdict.decision === 'deny' || verdict.decision === 'quarantine') {
          return update('TASK_STATE_REJECTED', verdict, verdict.detail);
        }
        if (verdict.decision === 'hold') {
          update(
            'TASK_STATE_AUTH_REQUIRED',
            verdict,
            `Held for a pilot: ${verdict.detail ?? verdict.reason}`,
          );
          const released = await follow.released();
          if ('stopped' in released) return stoppedUpdate(update, verdict);
          if (released.outcome === 'deny') {
            const answer = { ...verdict, decision: 'deny', reason: 'hold.rejected', releasedBy: released.by };
            return update('TASK_STATE_REJECTED', answer, `Rejected by ${released.by}.`);
          }
        }
        update(
          'TASK_STATE_WORKING',
          { ...verdict, decision: 'deliver' },
          `Delivered to ${served.spec.name}.`,
        );
        const handled = await follow.handled();
        if ('stopped' in handled) return stoppedUpdate(update, verdict);
        if (!handled.ok) {
          const answer = {
            id: verdict.id,
            agent: handled.agent,
            code: handled.code,
            message: handled.message,
          };
          return update('TASK_STATE_FAILED', answer, `${handled.agent} failed: ${handled.message}`);
        }
        for (const answer of handled.answers) {
          const artifact = artifactOf(answer);
          if (artifact !== undefined)
            bus.publish(
              AgentEvent.artifactUpdate(TaskArtifactUpdateEvent.fromJSON({ taskId, contextId, artifact })),
            );
        }
        const summary = {
          id: verdict.id,
          agent: handled.agent,
          answers: handled.answers.map((a) => ({
            id: a.msgId,
            type: a.envelope?.type ?? '',
            gated: a.gated,
            decision: a.verdict.decision,
            reason: a.verdict.reason,
          })),
        };
        update(
          'TASK_STATE_COMPLETED',
          summary,
          `${handled.agent} answered ${summary.answers.length} message(s).`,
        );
      } finally {
        follow.close();
        bus.finished();
      }
    },
    async cancelTask(taskId) {
      throw new TaskNotCancelableError(
        `Task ${taskId} is a message the mesh admitted: it cannot be called back. A pilot can reject it while it is held.`,
      );
    },
  };
}

type Update = (state: string, answer?: Record<string, unknown>, text?: string) => void;

function stoppedUpdate(update: Update, verdict: ReturnType<typeof verdictOf>): void {
  update(
    'TASK_STATE_FAILED',
    { id: verdict.id, code: 'MW_RUNTIME_CLOSING' },
    'The mesh stopped before the message was handled; the ledger keeps it, and a restart resumes it.',
  );
}

/** A delivered message the agent emitted, as an artifact; effects and what the gate stopped stay inside. */
function artifactOf(answer: Extract<MeshEvent, { type: 'decision' }>): JsonValue | undefined {
  const envelope = answer.envelope;
  if (answer.gated !== 'message' || answer.verdict.decision !== 'deliver' || envelope === undefined)
    return undefined;
  const metadata = { type: envelope.type, subject: envelope.subject, id: envelope.id };
  const artifact: Omit<Artifact, 'parts' | 'metadata' | 'extensions'> & Record<string, unknown> = {
    artifactId: envelope.id,
    name: envelope.type,
    description: '',
    parts: [{ data: envelope.data, metadata, mediaType: 'application/json' }],
    metadata,
  };
  return artifact as JsonValue;
}

function agentMessage(contextId: string, taskId: string | undefined, answer: object, text?: string): Message {
  return Message.fromJSON({
    messageId: randomUUID(),
    contextId,
    ...(taskId === undefined ? {} : { taskId }),
    role: 'ROLE_AGENT',
    parts: [
      { data: answer, metadata: { type: VERDICT_TYPE }, mediaType: 'application/json' },
      ...(text === undefined ? [] : [{ text, mediaType: 'text/plain' }]),
    ],
  });
}
