import { randomUUID } from 'node:crypto';
import { TaskNotCancelableError } from '@a2a-js/sdk/errors';
import { AgentEvent, type AgentExecutor, type RequestContext } from '@a2a-js/sdk/server';
import { errorText, isMeshwardenError, isUuid, type JsonValue, type Mesh } from '../../runtime/index.js';
import { a2aError } from './errors.js';
import type { Follow, Following } from './follow.js';
import type { Served } from './serve-card.js';
import { agentMessage, type TaskUpdates, taskUpdates } from './task-updates.js';

/** The SDK's user, as the shell's caller becomes one (see serve.ts): its name and whether it is a partner. */
export type ServedUser = {
  readonly isAuthenticated: true;
  readonly userName: string;
  readonly partner: boolean;
  /** Unique to the caller's token: its tasks are kept under it (task-store.ts). */
  readonly key: string;
  /** The request's W3C `traceparent` header, if any: the case continues the caller's trace. */
  readonly traceparent?: string;
};

/**
 * Who calls, as the shell that checked the bearer token knows them: recorded as `a2a:<name>`, and
 * a partner's message goes to the gate as one, so it reaches only the exposed agent it addresses.
 * The request's `traceparent` header goes along, so the case continues the caller's trace.
 */
function callerOf(request: RequestContext): { sentBy: string; partner?: true; traceparent?: string } {
  const user = request.context.user as Partial<ServedUser> | undefined;
  const sentBy = `a2a:${user?.userName ?? 'anonymous'}`;
  const trace = user?.traceparent === undefined ? {} : { traceparent: user.traceparent };
  return user?.partner === true ? { sentBy, partner: true, ...trace } : { sentBy, ...trace };
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
  // A client's UUID is the envelope id, so one sent twice is caught as a duplicate (and an id the
  // ledger already holds is refused by the runtime).
  const id = isUuid(message.messageId) ? message.messageId : randomUUID();
  return { data, type, subject, id };
}

type Verdict = { decision: string; reason: string; detail?: string };

/** What a task answers of the gate's verdict on the message it sent. */
type TaskVerdict = { id: string; decision: string; reason: string; detail: string | undefined };

function verdictOf(entry: { msgId?: string | undefined; data: unknown }): TaskVerdict {
  const { verdict } = entry.data as { verdict: Verdict };
  return {
    id: entry.msgId ?? '',
    decision: verdict.decision,
    reason: verdict.reason,
    detail: verdict.detail,
  };
}

/** Why the mesh could not take the message at all (it is closing, its ledger failed): a typed answer. */
function failureOf(cause: unknown): { code: string; message: string } {
  const error = isMeshwardenError(cause)
    ? cause
    : a2aError('MW_INTEROP_A2A_SERVE', { cause: errorText(cause) });
  return { code: error.code, message: error.message };
}

/**
 * An ingress: the message is a root message through it; whatever is missing is left for the gate
 * to refuse, so it is recorded, not dropped. The answer is a message with the verdict.
 */
export function ingressExecutor(mesh: Mesh, served: Extract<Served, { kind: 'ingress' }>): AgentExecutor {
  return {
    async execute(request, bus) {
      const root = rootOf(request.userMessage, served.emits);
      let answer: Record<string, unknown>;
      try {
        answer = verdictOf(await mesh.inject(served.name, { ...root, ...callerOf(request) }));
      } catch (cause) {
        answer = failureOf(cause);
      }
      bus.publish(AgentEvent.message(agentMessage(request.contextId, undefined, answer)));
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
 * in the final status, never sent out. The SDK settles the bus when this returns.
 */
export function agentExecutor(
  mesh: Mesh,
  served: Extract<Served, { kind: 'agent' }>,
  following: Following,
): AgentExecutor {
  return {
    async execute(request, bus) {
      const updates = taskUpdates(bus, request);
      updates.submitted();
      const root = rootOf(request.userMessage, served.accepts);
      const follow = following.follow(root.id);
      try {
        const entry = await mesh.inject(served.via, {
          ...root,
          target: served.spec.name,
          ...callerOf(request),
        });
        const verdict = verdictOf(entry);
        if (verdict.decision === 'deny' || verdict.decision === 'quarantine') {
          updates.status('TASK_STATE_REJECTED', verdict, verdict.detail);
          return;
        }
        if (verdict.decision === 'hold' && (await endedHeld(updates, verdict, follow))) return;
        updates.status(
          'TASK_STATE_WORKING',
          { ...verdict, decision: 'deliver' },
          `Delivered to ${served.spec.name}.`,
        );
        await answerHandled(updates, verdict.id, follow);
      } catch (cause) {
        // The mesh could not take it (closing, a ledger failure): the task says so, typed.
        const failure = failureOf(cause);
        updates.status('TASK_STATE_FAILED', failure, failure.message);
      } finally {
        follow.close();
      }
    },
    async cancelTask(taskId) {
      throw new TaskNotCancelableError(
        `Task ${taskId} is a message the mesh admitted: it cannot be called back. A pilot can reject it while it is held.`,
      );
    },
  };
}

/**
 * A held message: `auth-required` until a pilot decides. Answers whether the task ended there:
 * rejected (by the pilot, or by the gate after an approval), or failed as the mesh stopped.
 */
async function endedHeld(
  updates: Pick<TaskUpdates, 'status'>,
  verdict: TaskVerdict,
  follow: Pick<Follow, 'released'>,
): Promise<boolean> {
  updates.status(
    'TASK_STATE_AUTH_REQUIRED',
    verdict,
    `Held for a pilot: ${verdict.detail ?? verdict.reason}`,
  );
  const released = await follow.released();
  if ('stopped' in released) {
    stoppedUpdate(updates, verdict.id);
    return true;
  }
  if (released.outcome !== 'deny') return false;
  const { by, regateReason } = released;
  const answer = {
    ...verdict,
    decision: 'deny',
    reason: regateReason ?? 'hold.rejected',
    releasedBy: by,
  };
  const text =
    regateReason === undefined
      ? `Rejected by ${by}.`
      : `Approved by ${by}, then refused by the gate (${regateReason}).`;
  updates.status('TASK_STATE_REJECTED', answer, text);
  return true;
}

/**
 * A delivered message (`id`): the task completes with one artifact per message of the agent's the
 * gate delivered and a summary of every answer, or fails as the agent's handling was dead-lettered
 * or the mesh stopped.
 */
async function answerHandled(
  updates: TaskUpdates,
  id: string,
  follow: Pick<Follow, 'handled'>,
): Promise<void> {
  const handled = await follow.handled();
  if ('stopped' in handled) return stoppedUpdate(updates, id);
  if (!handled.ok) {
    const answer = {
      id,
      agent: handled.agent,
      code: handled.code,
      message: handled.message,
    };
    updates.status('TASK_STATE_FAILED', answer, `${handled.agent} failed: ${handled.message}`);
    return;
  }
  updates.artifacts(handled.answers);
  const summary = {
    id,
    agent: handled.agent,
    answers: handled.answers.map((a) => ({
      id: a.msgId,
      type: a.envelope?.type ?? '',
      gated: a.gated,
      decision: a.verdict.decision,
      reason: a.verdict.reason,
    })),
  };
  updates.status(
    'TASK_STATE_COMPLETED',
    summary,
    `${handled.agent} answered ${summary.answers.length} message(s).`,
  );
}

function stoppedUpdate(updates: Pick<TaskUpdates, 'status'>, id: string): void {
  updates.status(
    'TASK_STATE_FAILED',
    { id, code: 'MW_RUNTIME_CLOSED' },
    'The mesh stopped before the message was handled; the ledger keeps it, and a restart resumes it.',
  );
}
