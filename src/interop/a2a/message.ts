import { Role, type SendMessageRequest } from '@a2a-js/sdk';
import type { Envelope } from '../../runtime/index.js';

/** Media types the mesh can carry back: data parts (JSON) and text parts. */
export const ACCEPTED_OUTPUT = ['application/json', 'text/plain'];

/**
 * The A2A request for one admitted envelope (a blocking `SendMessage`):
 * - one data part holding the envelope's `data` (`application/json`);
 * - the message's metadata holds every other envelope attribute (type, subject, id, source,
 *   correlationid, causationid, hop, traceparent, …), so the agent sees what an HTTP agent sees;
 * - messageId is the envelope id, so a retried delivery is the same A2A message, which the agent
 *   can recognise;
 * - contextId is the envelope's correlationid: one A2A context per case;
 * - taskId is set when the agent paused a task of this case for input, so this message continues it.
 */
export function toA2aRequest(msg: Envelope, taskId: string | undefined): SendMessageRequest {
  const { data, ...attributes } = msg;
  return {
    tenant: '',
    message: {
      messageId: msg.id,
      contextId: msg.correlationid,
      taskId: taskId ?? '',
      role: Role.ROLE_USER,
      parts: [
        {
          content: { $case: 'data', value: data },
          metadata: undefined,
          filename: '',
          mediaType: 'application/json',
        },
      ],
      metadata: { ...attributes },
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: {
      acceptedOutputModes: ACCEPTED_OUTPUT,
      taskPushNotificationConfig: undefined,
      returnImmediately: false,
    },
    metadata: undefined,
  };
}

/** W3C trace context as HTTP headers, so a traced agent continues the mesh's trace. */
export function traceHeaders(msg: Envelope): Record<string, string> | undefined {
  if (msg.traceparent === undefined) return undefined;
  return {
    traceparent: msg.traceparent,
    ...(msg.tracestate === undefined ? {} : { tracestate: msg.tracestate }),
  };
}
