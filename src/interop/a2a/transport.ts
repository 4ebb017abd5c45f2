import { setTimeout as sleep } from 'node:timers/promises';
import { type Message, type Task, TaskState } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import { A2AError, isJsonRpcError } from '@a2a-js/sdk/errors';
import {
  type AgentDefinition,
  type AgentTransport,
  type Envelope,
  errorText,
  isFinal,
  isMeshwardenError,
  type MeshwardenError,
  type RemoteEvent,
} from '../../runtime/index.js';
import { credentialOf } from '../auth.js';
import { createResilience, type Resilience, type ResilienceOptions, type Where } from '../resilience.js';
import { connectCard } from './card.js';
import { a2aError } from './errors.js';
import { toA2aRequest, traceHeaders } from './message.js';
import { readReply } from './reply.js';
import { createWaitingTasks, type WaitingTasks } from './waiting.js';

export type A2aTransportOptions = ResilienceOptions & {
  /** Replies (and cards) over this many bytes are refused (default 1 MiB). */
  readonly maxReplyBytes?: number;
};

/**
 * `a2a:` agents, reached with the official A2A SDK. The agent card is fetched on the first delivery
 * (connect is synchronous) and kept until a call fails, then fetched again. Each admitted message is
 * one blocking SendMessage (see message.ts); the answer's parts become emissions that pass the gate
 * like any other (see reply.ts). Per agent, cockatiel bounds each call with a timeout and opens a
 * circuit after repeated failures, as for HTTP agents. Every failure is a typed error: the runtime
 * records it, retries, and dead-letters the message after the last try.
 */
export function createA2aTransport(opts: A2aTransportOptions = {}): AgentTransport {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxReplyBytes = opts.maxReplyBytes ?? 1024 * 1024;
  // Per agent and card URL, kept across policy reloads (which connect every agent again): its
  // circuit and the tasks it paused, so a reload neither closes the circuit of an agent that is down
  // nor forgets the task a case is to continue.
  const agents = new Map<string, { resilience: Resilience; waiting: WaitingTasks; running: WaitingTasks }>();
  return {
    kind: 'a2a',
    connect(spec): AgentDefinition | MeshwardenError {
      const where: Where = { who: `agent ${spec.name}`, url: spec.a2a ?? '' };
      const credential = credentialOf(spec.auth, where.who);
      if (isMeshwardenError(credential)) return credential;
      const key = `${spec.name}\0${where.url}`;
      const kept = agents.get(key) ?? {
        // An agent that asks for input is working as designed: that must not open its circuit.
        // A final failure (a redirect, a refused key, a 4xx) does not count, as for every HTTP agent.
        resilience: createResilience(opts, (e) => !asksForInput(e) && !isFinal(e)),
        waiting: createWaitingTasks(),
        // The task still running when a try gave up, per message: its retry asks for that task
        // instead of sending the message again (which would do the work twice).
        running: createWaitingTasks(),
      };
      agents.set(key, kept);
      const { resilience, waiting, running } = kept;
      let client: Promise<Client> | undefined;

      const call = async (msg: Envelope, signal: AbortSignal): Promise<RemoteEvent[]> => {
        client ??= connectCard({ ...where, maxReplyBytes, timeoutMs, credential });
        const sdk = await client;
        const headers = traceHeaders(msg);
        const resumed = running.get(msg.id);
        // A task the agent no longer knows is sent anew.
        let result: Message | Task | undefined =
          resumed === undefined
            ? undefined
            : await sdk.getTask({ tenant: '', id: resumed, historyLength: 0 }, { signal }).catch((cause) => {
                if (signal.aborted) throw cause;
                return undefined;
              });
        if (result === undefined) {
          try {
            result = await sdk.sendMessage(toA2aRequest(msg, waiting.get(msg.correlationid)), {
              signal,
              ...(headers === undefined ? {} : { serviceParameters: headers }),
            });
          } catch (cause) {
            if (signal.aborted) throw cause;
            waiting.delete(msg.correlationid);
            throw callError(cause, where);
          }
        }
        // An agent may answer before it is done (it will not block): ask it again until it is.
        if (isRunning(result)) {
          running.set(msg.id, result.id);
          result = await untilDone(sdk, result, signal, where);
        }
        running.delete(msg.id);
        const outcome = readReply(result, { ...where, emits: spec.emits });
        if (!outcome.ok && outcome.waiting !== undefined) waiting.set(msg.correlationid, outcome.waiting);
        else waiting.delete(msg.correlationid);
        if (!outcome.ok) throw outcome.error;
        return outcome.events;
      };

      return {
        async handle(msg, ctx) {
          let events: RemoteEvent[];
          try {
            events = await resilience.execute((signal) => call(msg, signal), where);
          } catch (cause) {
            // The agent may have moved or come back with another card: read it again next time.
            if (!asksForInput(cause)) client = undefined;
            throw cause;
          }
          for (const event of events) ctx.forward(event);
        },
      };
    },
  };
}

/** The first waits between GetTask calls for a task still running; the last one repeats. */
const POLL_MS = [100, 200, 400, 800, 1600] as const;

function isRunning(result: Message | Task): result is Task {
  if ('parts' in result) return false;
  const state = result.status?.state;
  return state === TaskState.TASK_STATE_SUBMITTED || state === TaskState.TASK_STATE_WORKING;
}

/**
 * Polls a task the agent answered while still running until it is not (completed, failed, paused),
 * within the call's own time: the call's timeout still bounds the whole, and a task that outlives it
 * fails the try like a slow answer (MW_INTEROP_TIMEOUT).
 */
async function untilDone(sdk: Client, running: Task, signal: AbortSignal, where: Where): Promise<Task> {
  let task = running;
  for (let i = 0; isRunning(task); i++) {
    await sleep(POLL_MS[Math.min(i, POLL_MS.length - 1)]!, undefined, { signal });
    try {
      task = await sdk.getTask({ tenant: '', id: task.id, historyLength: 0 }, { signal });
    } catch (cause) {
      if (signal.aborted) throw cause;
      throw callError(cause, where);
    }
  }
  return task;
}

const asksForInput = (e: unknown) => isMeshwardenError(e) && e.code === 'MW_INTEROP_A2A_INPUT_REQUIRED';

/**
 * An error the SDK threw for a call. Ours (from the guarded fetch) pass; a protocol error the agent
 * answered (JSON-RPC or REST) is MW_INTEROP_A2A_FAILED; anything else is the SDK failing to read the
 * answer (not JSON, not JSON-RPC, no result): MW_INTEROP_A2A_BAD_REPLY.
 */
function callError(cause: unknown, where: Where): MeshwardenError {
  if (isMeshwardenError(cause)) return cause;
  if (cause instanceof A2AError) {
    const code = isJsonRpcError(cause) ? ` (JSON-RPC ${cause.envelopeCode})` : '';
    const problem = `${cause.name}${code}: ${cause.message}`;
    return a2aError('MW_INTEROP_A2A_FAILED', { ...where, problem }, { cause });
  }
  return a2aError('MW_INTEROP_A2A_BAD_REPLY', { ...where, problem: errorText(cause) }, { cause });
}
