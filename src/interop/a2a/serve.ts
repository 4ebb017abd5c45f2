import { randomUUID } from 'node:crypto';
import { AgentCard, Message } from '@a2a-js/sdk';
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  defaultServerCallContextBuilder,
  InMemoryTaskStore,
  JsonRpcTransportHandler,
} from '@a2a-js/sdk/server';
import type { JsonValue, Mesh } from '../../runtime/index.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * The mesh's ingress sources as A2A agents, for the shell to mount behind its own auth: each
 * ingress has an agent card and a JSON-RPC endpoint. A message sent to one enters the mesh through
 * that ingress, so a remote A2A client reaches the mesh only through the gate, and the answer is the
 * gate's verdict.
 */
export type MeshA2aServer = {
  /** The ingress's agent card (JSON) with its endpoint at `endpoint`; undefined for no such ingress. */
  card(ingress: string, endpoint: string): unknown;
  /** Answers one JSON-RPC request to an ingress's endpoint for a caller (recorded as `a2a:<caller>`). */
  handle(
    ingress: string,
    endpoint: string,
    body: unknown,
    caller: string,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<unknown>;
};

export function createMeshA2aServer(mesh: Mesh): MeshA2aServer {
  const cardOf = (ingress: string, endpoint: string) => {
    const spec = mesh.policy.ingress.get(ingress);
    if (spec === undefined) return undefined;
    return AgentCard.fromJSON({
      name: `${mesh.policy.mesh}/${ingress}`,
      description: `Sends messages into mesh ${mesh.policy.mesh} through its ${ingress} ingress; each passes the warden's gate, and the answer is the verdict.`,
      version: '1',
      supportedInterfaces: [{ url: endpoint, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
      capabilities: { streaming: false },
      defaultInputModes: ['application/json', 'text/plain'],
      defaultOutputModes: ['application/json'],
      skills: spec.emits.map((type) => ({
        id: type,
        name: type,
        description: `A ${type} message: a data part, with metadata.type "${type}" and metadata.subject the entity.`,
        tags: ['meshwarden', ingress],
      })),
    });
  };

  return {
    card(ingress, endpoint) {
      const card = cardOf(ingress, endpoint);
      return card === undefined ? undefined : AgentCard.toJSON(card);
    },
    async handle(ingress, endpoint, body, caller, headers) {
      const card = cardOf(ingress, endpoint);
      if (card === undefined) return undefined;
      const executor = gateExecutor(mesh, ingress, caller);
      const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
      const context = defaultServerCallContextBuilder({ extensions: undefined, user: undefined, headers });
      return new JsonRpcTransportHandler(handler).handle(body as Record<string, unknown>, context);
    },
  };
}

/**
 * Turns an A2A message into a root message through the ingress: its first part is the data (a text
 * part as `{ text }`), `metadata.type` the type (or the ingress's only one), `metadata.subject` the
 * entity, and a UUID `messageId` its id, so a client that sends the same message twice is caught as
 * a duplicate. Whatever is missing is left for the gate to refuse, so it is recorded, not dropped.
 */
function gateExecutor(mesh: Mesh, ingress: string, caller: string): AgentExecutor {
  return {
    async execute(request, bus) {
      const message = request.userMessage;
      const content = message.parts[0]?.content;
      const data: JsonValue =
        content?.$case === 'data'
          ? (content.value as JsonValue)
          : content?.$case === 'text'
            ? { text: content.value }
            : null;
      const meta = (message.metadata ?? {}) as Record<string, unknown>;
      const emits = mesh.policy.ingress.get(ingress)?.emits ?? [];
      const type = typeof meta.type === 'string' ? meta.type : emits.length === 1 ? emits[0]! : '';
      const subject = typeof meta.subject === 'string' ? meta.subject : '';
      const entry = await mesh.inject(ingress, {
        type,
        subject,
        data,
        sentBy: `a2a:${caller}`,
        ...(UUID.test(message.messageId) ? { id: message.messageId } : {}),
      });
      const { verdict } = entry.data as { verdict: { decision: string; reason: string; detail?: string } };
      const answer = {
        id: entry.msgId,
        decision: verdict.decision,
        reason: verdict.reason,
        detail: verdict.detail,
      };
      bus.publish(
        AgentEvent.message(
          Message.fromJSON({
            messageId: randomUUID(),
            contextId: request.contextId,
            role: 'ROLE_AGENT',
            parts: [
              { data: answer, metadata: { type: 'meshwarden.verdict' }, mediaType: 'application/json' },
            ],
          }),
        ),
      );
      bus.finished();
    },
    async cancelTask() {},
  };
}
