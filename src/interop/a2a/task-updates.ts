import { randomUUID } from 'node:crypto';
import { Message, Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent } from '@a2a-js/sdk';
import { AgentEvent, type ExecutionEventBus, type RequestContext } from '@a2a-js/sdk/server';
import type { JsonValue, MeshEvent } from '../../runtime/index.js';

const VERDICT_TYPE = 'meshwarden.verdict';

/** What one served task publishes on the SDK's bus, in the order the executor calls them. */
export type TaskUpdates = {
  /** The task as submitted, its history the caller's message. */
  submitted(): void;
  /** A new state, with an agent message carrying `answer` (and `text` for people). */
  status(state: string, answer: Record<string, unknown>, text?: string): void;
  /** One artifact per message the agent emitted that the gate delivered; the rest stay inside. */
  artifacts(answers: readonly Extract<MeshEvent, { type: 'decision' }>[]): void;
};

/** The updates of the task `request` opened, published on `bus`. */
export function taskUpdates(
  bus: Pick<ExecutionEventBus, 'publish'>,
  request: Pick<RequestContext, 'taskId' | 'contextId' | 'userMessage'>,
): TaskUpdates {
  const { taskId, contextId } = request;
  return {
    submitted() {
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
    },
    status(state, answer, text) {
      bus.publish(
        AgentEvent.statusUpdate(
          TaskStatusUpdateEvent.fromJSON({
            taskId,
            contextId,
            status: {
              state,
              timestamp: new Date().toISOString(),
              message: Message.toJSON(agentMessage(contextId, taskId, answer, text)),
            },
          }),
        ),
      );
    },
    artifacts(answers) {
      for (const answer of answers) {
        const artifact = artifactOf(answer);
        if (artifact !== undefined)
          bus.publish(
            AgentEvent.artifactUpdate(TaskArtifactUpdateEvent.fromJSON({ taskId, contextId, artifact })),
          );
      }
    },
  };
}

/** A delivered message the agent emitted, as an artifact; effects and what the gate stopped stay inside. */
function artifactOf(answer: Extract<MeshEvent, { type: 'decision' }>): JsonValue | undefined {
  const envelope = answer.envelope;
  if (answer.gated !== 'message' || answer.verdict.decision !== 'deliver' || envelope === undefined)
    return undefined;
  const metadata = { type: envelope.type, subject: envelope.subject, id: envelope.id };
  return {
    artifactId: envelope.id,
    name: envelope.type,
    parts: [{ data: envelope.data, metadata, mediaType: 'application/json' }],
    metadata,
  };
}

/** The agent's answer: `answer` as data typed as a verdict, and `text` for people. */
export function agentMessage(
  contextId: string,
  taskId: string | undefined,
  answer: object,
  text?: string,
): Message {
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
