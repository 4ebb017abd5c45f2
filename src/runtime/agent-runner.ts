import type { Logger } from 'pino';
import type { Envelope, GatedKind } from '../envelope/index.js';
import { errorText } from '../envelope/index.js';
import type { RuntimeFacts } from '../gate/index.js';
import type { LedgerRecord } from '../ledger/index.js';
import type { AgentSpec } from '../policy/index.js';
import type { ActivePolicy } from './active.js';
import { agentContext } from './agent-context.js';
import type { Attempted, Attempts, TryAbort } from './attempts.js';
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

  /**
   * Runs one handler on `msg` with retries, and admits what it emitted. A synchronous handler that
   * succeeds on its first try is handled synchronously: its hop makes no promise until its
   * emissions are admitted.
   */
  const handle = (msg: Envelope, spec: AgentSpec, agent: AgentDefinition): boolean | Promise<boolean> => {
    const worker = `${spec.name}@${spec.version}`;
    let note: Outbox['note'];
    /** One try: what it emitted, at once for a synchronous handler; its outbox closed when it ends. */
    const tryOnce = (tries: number): Outgoing[] | Promise<Outgoing[]> => {
      const outbox: Outbox = { items: [], open: true };
      const abort: TryAbort = {};
      let running: Promise<void> | undefined;
      try {
        const handled = agent.handle(msg, agentContext(deps, spec, msg, tries, outbox, abort));
        // A synchronous handler is done: no await (a microtask per delivery), no timer. Inside the
        // `try`: a returned object whose `then` getter throws fails this try, and closes its outbox.
        if (isThenable(handled))
          running = Promise.resolve(bounded(handled, `agent ${worker}`, abort, agent.tryTimeoutMs));
      } catch (cause) {
        note = closeOutbox(outbox);
        throw cause;
      }
      if (running === undefined) {
        note = closeOutbox(outbox);
        return outbox.items;
      }
      return running.then(
        () => {
          note = closeOutbox(outbox);
          return outbox.items;
        },
        (cause: unknown) => {
          note = closeOutbox(outbox);
          throw cause;
        },
      );
    };
    /** After the last try: a dead letter, or what the handler emitted admitted (else `delivered`). */
    const settled = (result: Attempted<Outgoing[]>): boolean => {
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
      work.track(deps.listening() ? durable.then(() => told(msg, worker, result.value)) : durable);
      return true;
    };
    const result = attempt(msg, worker, tryOnce, (cause) =>
      runtimeError(
        'MW_RUNTIME_HANDLER',
        { agent: worker, msgId: msg.id, cause: errorText(cause) },
        { cause },
      ),
    );
    return isThenable(result) ? result.then(settled) : settled(result);
  };

  const told = (msg: Envelope, worker: string, emitted: readonly Outgoing[]) =>
    publish({
      type: 'delivered',
      at: clock(),
      msgId: msg.id,
      correlationid: msg.correlationid,
      agent: worker,
      emitted: emitted.map((out) => out.envelope.id),
    });

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
        const done = (ok: boolean) => {
          allOk = ok && allOk;
          if (--remaining === 0 && allOk) counts.messages.delivered++;
        };
        work.run(() => {
          // Recovery under a new policy can name a consumer that policy removed: say so, once.
          if (spec === undefined || agent === undefined) return done(unknownConsumer(envelope, name));
          const ok = handle(envelope, spec, agent);
          return isThenable(ok) ? ok.then(done) : done(ok);
        });
      }
    },
  };
}

/** Ends a try: what its handler emits after this is late (`envelope.late_emit`). Returns its note. */
function closeOutbox(outbox: Outbox): Outbox['note'] {
  outbox.open = false;
  return outbox.note;
}
