import { randomUUID } from 'node:crypto';
import { type AgentCard, Role, type SendMessageRequest } from '@a2a-js/sdk';
import { ClientFactory, JsonRpcTransportFactory, RestTransportFactory } from '@a2a-js/sdk/client';

/** A user message with one data part, as a remote A2A client sends it. */
export function request(
  data: unknown,
  metadata: Record<string, unknown>,
  messageId: string = randomUUID(),
): SendMessageRequest {
  return {
    tenant: '',
    message: {
      messageId,
      contextId: '',
      taskId: '',
      role: Role.ROLE_USER,
      parts: [
        {
          content: { $case: 'data', value: data },
          metadata: undefined,
          filename: '',
          mediaType: 'application/json',
        },
      ],
      metadata,
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: {
      acceptedOutputModes: ['application/json'],
      taskPushNotificationConfig: undefined,
      returnImmediately: false,
    },
    metadata: undefined,
  } as SendMessageRequest;
}

/** `fetch` with a bearer token on every request. */
function authorized(token: string): typeof fetch {
  return (input, init) =>
    fetch(input, { ...init, headers: { ...(init?.headers as object), authorization: `Bearer ${token}` } });
}

/** The official A2A 1.0 client, over JSON-RPC, sending a bearer token. */
export function jsonRpcClient(card: AgentCard, token: string) {
  const transports = [new JsonRpcTransportFactory({ fetchImpl: authorized(token) })];
  return new ClientFactory({ transports }).createFromAgentCard(card);
}

/** The official A2A 1.0 client, over HTTP+JSON (REST), sending a bearer token. */
export function restClient(card: AgentCard, token: string) {
  const transports = [new RestTransportFactory({ fetchImpl: authorized(token) })];
  return new ClientFactory({ transports }).createFromAgentCard(card);
}
