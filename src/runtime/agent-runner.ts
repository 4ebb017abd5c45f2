import type { Logger } from 'pino';
import type { Envelope, GatedKind } from '../envelope/index.js';
import { errorText } from '../envelope/index.js';
import type { RuntimeFacts } from '../gate/index.js';
import type { LedgerRecord } from '../ledger/index.js';
import type { AgentSpec } from '../policy/index.js';
import type { ActivePolicy } from './active.js';
import { agentContext } from './agent-context.js';
import type { Attempts, TryAbort } from './attempts.js';
import type { AgentDefinition } from './define.js';
import type { Clock, EnvelopeFactory } from './envelopes.js';
import { runtimeError } from './errors.js';
import type { MeshEvent, RunCounts } from './events.js';
import type { Outbox } from './forwarded.js';
import { deliveredRecord } from './records.js';
import { isThenable } from './thenable.js';
import type { WorkTracker } from './work.js';

export type Outgoing = {
  readonly envelope: Envelope;
  readonly gated: GatedKind;
  /** Its id came from outside (a remote agent's own): the gate checks it for duplicates. */
  readonly external?: boolean;
  /** What the runtime found out about it (a taken id, a remote's claims, a late emission), for the gate. */
  readonly facts?: RuntimeFacts;
};

export type AgentRunner = {
  /** Hands an admitted message to the named consumers, each handler within the work bound. */
  deliver(envelope: Envelope, consumers: readonly string[]): void;
};

/**
 * Runs agents' handlers with retries; collects what each try emits and admits it as one group, or
 * records a `delivered` entry for a handler that emitted nothing; dead-letters what runs out of tries.
 */
export type AgentRunnerDeps = {
  active: ActivePolicy;
  log: Logger;
  clock: Clock;
  factory: EnvelopeFactory;
  work: WorkTracker;
  counts: RunCounts;
  publish: (event: MeshEvent) => void;
  /** Whether anyone listens to events, so that none is built for nobody. */
  listening: () => boolean;
  /**
   * Admits one handler's emissions, as one atomic ledger group per partition they go to; resolves
   * when all of it is durable.
   */
  admitAll: (emitted: readonly Outgoing[]) => Promise<unknown>;
  /**
   * Records an outcome about a message (delivered, executed) in its subject's partition through the
   * admit path, applying the state deltas it carries (an executor's reply token); resolves when durable.
   */
  record: (record: LedgerRecord) => Promise<unknown>;
  attempts: Attempts;
};

export function createAgentRunner(deps: AgentRunnerDeps): AgentRunner {
  const { active, clock, work, counts, publish } = deps;
  const { attempt, bounded, deadLetter } = deps.attempts;

  const handle = async (msg: Envelope, spec: AgentSpec, agent: AgentDefinition): Promise<boolean> => {
    const worker = `${spec.name}@${spec.version}`;
    let note: Outbox['note'];
    const result = await attempt(
      msg,
      worker,
      async (tries) => {
        const outbox: Outbox = { items: [], open: true };
        const abort: TryAbort = {};
        try {
          const handled = agent.handle(msg, agentContext(deps, spec, msg, tries, outbox, abort));
          // A synchronous handler is done: no await (a microtask per delivery), no timer.
          if (isThenable(handled)) await bounded(handled, `agent ${worker}`, abort, agent.tryTimeoutMs);
        } finally {
          outbox.open = false;
          note = outbox.note;
        }
        return outbox.items;
      },
      (cause) =>
        runtimeError(
          'MW_RUNTIME_HANDLER',
          { agent: worker, msgId: msg.id, cause: errorText(cause) },
          { cause },
        ),
    );
    if (!result.ok) {
      deadLetter(msg, worker, result.attempt, result.error);
      return false;
    }
    // A handler that emitted is recorded by the decisions on what it emitted (their causation and
    // agent name the delivery); only a handler that emitted nothing gets a `delivered` entry.
    const durable =
      result.value.length > 0
        ? deps.admitAll(result.value)
        : deps.record(deliveredRecord(clock(), msg, worker, result.attempt, note));
    // Told once what the handler emitted is recorded: a listener may pass it on outside the mesh.
    // Nobody listening (the common case), the hop costs no extra promise.
    const told = () =>
      publish({
        type: 'delivered',
        at: clock(),
        msgId: msg.id,
        correlationid: msg.correlationid,
        agent: worker,
        emitted: result.value.map((out) => out.envelope.id),
      });
    work.track(deps.listening() ? durable.then(told) : durable);
    return true;
  };

  const unknownConsumer = (msg: Envelope, name: string): false => {
    deadLetter(msg, name, 0, runtimeError('MW_RUNTIME_UNKNOWN_CONSUMER', { agent: name, msgId: msg.id }));
    return false;
  };

  return {
    deliver(envelope, consumers) {
      if (consumers.length === 0) {
        counts.messages.delivered++;
        return;
      }
      let remaining = consumers.length;
      let allOk = true;
      for (const name of consumers) {
        // Spec and code are taken together now, so a policy reload before the handler runs can
        // neither remove them from under it nor run new code under the old version's name.
        const spec = active.policy.agents.get(name);
        const agent = active.modules.agents.get(name);
        work.run(async () => {
          // Recovery under a new policy can name a consumer that policy removed: say so, once.
          const ok =
            spec === undefined || agent === undefined
              ? unknownConsumer(envelope, name)
              : await handle(envelope, spec, agent);
          allOk = ok && allOk;
          if (--remaining === 0 && allOk) counts.messages.delivered++;
        });
      }
    },
  };
}
