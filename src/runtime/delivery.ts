import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import type { Logger } from 'pino';
import type { Envelope, GatedKind, JsonValue, MeshwardenError } from '../envelope/index.js';
import { errorText, isMeshwardenError } from '../envelope/index.js';
import type { RuntimeFacts } from '../gate/index.js';
import type { Ledger, LedgerRecord } from '../ledger/index.js';
import type { AgentSpec } from '../policy/index.js';
import type { ActivePolicy } from './active.js';
import type { AgentContext, AgentDefinition, EffectContext, IngressMessage } from './define.js';
import type { Clock, EnvelopeFactory } from './envelopes.js';
import { runtimeError } from './errors.js';
import type { MeshEvent, RunCounts } from './events.js';
import type { FailureBreakers } from './failures.js';
import { checkedReplyToken, deliveredRecord, ENTRY, effectExecutedRecord } from './records.js';
import type { RemoteEvent } from './transports.js';
import type { WorkTracker } from './work.js';

export type RetryOptions = {
  /** Tries in all, the first included (default 3). */
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** A handler or executor that takes longer fails this try (default 30 s). */
  readonly timeoutMs: number;
};

const DEFAULT_RETRY: RetryOptions = {
  attempts: 3,
  initialDelayMs: 100,
  maxDelayMs: 2_000,
  timeoutMs: 30_000,
};

export type Outgoing = {
  readonly envelope: Envelope;
  readonly gated: GatedKind;
  /** Its id came from outside (a remote agent's own): the gate checks it for duplicates. */
  readonly external?: boolean;
  /** What the runtime found out about it (a taken id, a remote's claims, a late emission), for the gate. */
  readonly facts?: RuntimeFacts;
};
type Outbox = { readonly items: Outgoing[]; open: boolean };

export type Delivery = {
  /** Hands an admitted message to the named consumers, or an admitted effect to its executor. */
  dispatch(envelope: Envelope, gated: GatedKind, consumers: readonly string[]): void;
};

/** Runs handlers and executors with retries (cockatiel); records deliveries, failures and dead letters. */
export function createDelivery(deps: {
  active: ActivePolicy;
  ledger: Ledger;
  log: Logger;
  clock: Clock;
  factory: EnvelopeFactory;
  work: WorkTracker;
  counts: RunCounts;
  publish: (event: MeshEvent) => void;
  /** Whether anyone listens to events, so that none is built for nobody. */
  listening: () => boolean;
  /** Records a failed try or a dead letter (counted into failure breakers); resolves when durable. */
  failed: FailureBreakers['record'];
  /** Admits one handler's emissions as one atomic ledger group; resolves when it is durable. */
  admitAll: (emitted: readonly Outgoing[]) => Promise<unknown>;
  /** Whether the ledger already holds a message with this id (a remote agent's own id may name one). */
  idTaken: (id: string) => boolean;
  ingest: (ingress: string, message: IngressMessage) => void;
  /** Applies the state deltas a record carries (an executor's reply token) to the gate's store. */
  remember: (record: LedgerRecord) => void;
  retry?: Partial<RetryOptions>;
}): Delivery {
  const { active, ledger, log, clock, factory, work, counts, publish } = deps;
  const options = { ...DEFAULT_RETRY, ...deps.retry };
  const resilience = retry(handleAll, {
    maxAttempts: options.attempts - 1,
    backoff: new ExponentialBackoff({ initialDelay: options.initialDelayMs, maxDelay: options.maxDelayMs }),
  });

  /**
   * Bounds an asynchronous try. A synchronous handler needs no timer, which keeps the common case
   * cheap (cockatiel's timeout policy allocates an AbortController and a DOMException per call).
   */
  const bounded = <T>(value: T | Promise<T>, what: string, abort: TryAbort): T | Promise<T> => {
    if (!(value instanceof Promise)) return value;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = runtimeError('MW_RUNTIME_TIMEOUT', { what, ms: options.timeoutMs });
        // The try is given up first (a handler that ends on abort must not count as finished), then a
        // handler that listens to its signal stops its work too.
        reject(error);
        abort.expired = error;
        abort.controller?.abort(error);
      }, options.timeoutMs);
    });
    return Promise.race([value, expired]).finally(() => clearTimeout(timer));
  };

  /** Runs `fn` with retries; records every failed try; returns the result or the last error. */
  const attempt = async <T>(
    msg: Envelope,
    worker: string,
    fn: (attempt: number) => Promise<T>,
    wrapError: (cause: unknown) => MeshwardenError,
  ): Promise<
    { ok: true; value: T; attempt: number } | { ok: false; error: MeshwardenError; attempt: number }
  > => {
    let tries = 0;
    try {
      const value = await resilience.execute(async () => {
        tries++;
        try {
          return await fn(tries);
        } catch (cause) {
          const error = isMeshwardenError(cause) ? cause : wrapError(cause);
          if (tries < options.attempts) {
            work.track(deps.failed(ENTRY.deliveryFailed, msg, worker, tries, error));
          }
          throw error;
        }
      });
      return { ok: true, value, attempt: tries };
    } catch (cause) {
      return { ok: false, error: isMeshwardenError(cause) ? cause : wrapError(cause), attempt: tries };
    }
  };

  const deadLetter = (msg: Envelope, worker: string, tries: number, error: MeshwardenError) => {
    counts.deadLetters++;
    log.warn({ msgId: msg.id, worker, code: error.code, err: error }, 'message dead-lettered');
    work.track(deps.failed(ENTRY.deadLetter, msg, worker, tries, error));
    publish({
      type: 'dead-letter',
      at: clock(),
      msgId: msg.id,
      worker,
      code: error.code,
      message: error.message,
    });
  };

  const handle = async (msg: Envelope, spec: AgentSpec, agent: AgentDefinition): Promise<boolean> => {
    const worker = `${spec.name}@${spec.version}`;
    const result = await attempt(
      msg,
      worker,
      async (tries) => {
        const outbox: Outbox = { items: [], open: true };
        const abort: TryAbort = {};
        try {
          await bounded(
            agent.handle(msg, agentContext(spec, msg, tries, outbox, abort)),
            `agent ${worker}`,
            abort,
          );
        } finally {
          outbox.open = false;
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
        : ledger.append(deliveredRecord(clock(), msg, worker, result.attempt));
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

  /** Buffers one try's emissions; an emission after the try settled is a bug in the agent, and says so. */
  const collect = (outbox: Outbox, spec: AgentSpec, msg: Envelope, out: Outgoing): string => {
    if (!outbox.open) {
      const error = runtimeError('MW_RUNTIME_LATE_EMIT', {
        agent: spec.name,
        type: out.envelope.type,
        msgId: msg.id,
      });
      // Throwing would land in the agent's timer callback and crash the process: gated on its own
      // instead, where the gate refuses it (`envelope.late_emit`) and the ledger records it.
      log.error({ err: error, msgId: msg.id, agent: spec.name }, 'late emit refused');
      work.track(deps.admitAll([{ ...out, facts: { ...out.facts, late: true } }]));
      return out.envelope.id;
    }
    outbox.items.push(out);
    return out.envelope.id;
  };

  const agentContext = (
    spec: AgentSpec,
    msg: Envelope,
    tries: number,
    outbox: Outbox,
    abort: TryAbort,
  ): AgentContext => ({
    agent: spec.name,
    version: spec.version,
    attempt: tries,
    get signal() {
      return signalOf(abort);
    },
    // Made on first use: most handlers never log, and a child logger per delivery is not free.
    get log() {
      return log.child({ agent: spec.name, msgId: msg.id });
    },
    emit(type, data, o = {}) {
      return collect(outbox, spec, msg, {
        envelope: factory.child(msg, spec, type, data, o),
        gated: 'message',
      });
    },
    effect(name, data, o = {}) {
      return collect(outbox, spec, msg, {
        envelope: factory.child(msg, spec, name, data, o),
        gated: 'effect',
      });
    },
    forward(event) {
      // An id the ledger already holds (a message of the warden's own, say) names another message:
      // the event is gated under an id of the warden's own, so that message's lineage stays its own.
      const takenId = event.id !== undefined && deps.idTaken(event.id) ? event.id : undefined;
      const { id: _, ...withoutId } = event;
      const envelope = factory.child(
        msg,
        spec,
        event.type,
        event.data,
        authored(takenId === undefined ? event : withoutId),
      );
      // The warden fills source and causation; the gate compares what the remote claimed with them.
      const facts = factsOf(takenId, event);
      return collect(outbox, spec, msg, {
        envelope,
        gated: active.policy.effects.has(event.type) ? 'effect' : 'message',
        ...(event.id === undefined || takenId !== undefined ? {} : { external: true }),
        ...(facts === undefined ? {} : { facts }),
      });
    },
  });

  const execute = async (request: Envelope) => {
    const worker = `effect:${request.type}`;
    const executor = active.modules.effects.get(request.type);
    if (executor === undefined) {
      counts.effects.failed++;
      deadLetter(
        request,
        worker,
        0,
        runtimeError('MW_RUNTIME_NO_EXECUTOR', { effect: request.type, msgId: request.id }),
      );
      return;
    }
    const result = await attempt(
      request,
      worker,
      async (tries) => {
        const abort: TryAbort = {};
        let replyToken: string | undefined;
        const ctx: EffectContext = {
          effect: request.type,
          attempt: tries,
          get signal() {
            return signalOf(abort);
          },
          get log() {
            return log.child({ effect: request.type, msgId: request.id });
          },
          ingest: deps.ingest,
          replyToken(token) {
            replyToken = checkedReplyToken(request.type, token);
          },
        };
        const value = await bounded(executor.execute(request, ctx), `effect ${request.type}`, abort);
        return { value: value ?? undefined, replyToken };
      },
      (cause) =>
        runtimeError(
          'MW_RUNTIME_EXECUTOR',
          { effect: request.type, msgId: request.id, cause: errorText(cause) },
          { cause },
        ),
    );
    if (!result.ok) {
      counts.effects.failed++;
      deadLetter(request, worker, result.attempt, result.error);
      return;
    }
    counts.effects.executed++;
    const value = result.value.value as JsonValue | undefined;
    const executed = effectExecutedRecord(clock(), request, result.attempt, value, result.value.replyToken);
    deps.remember(executed); // the gate knows a reply token from the moment its record is appended
    work.track(ledger.append(executed));
    publish({
      type: 'effect-executed',
      at: clock(),
      msgId: request.id,
      effect: request.type,
      subject: request.subject,
      ...(value === undefined ? {} : { result: value }),
    });
  };

  const unknownConsumer = (msg: Envelope, name: string): false => {
    deadLetter(msg, name, 0, runtimeError('MW_RUNTIME_UNKNOWN_CONSUMER', { agent: name, msgId: msg.id }));
    return false;
  };

  return {
    dispatch(envelope, gated, consumers) {
      if (gated === 'effect') {
        work.run(() => execute(envelope));
        return;
      }
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

/**
 * A try's abort signal: made only when a handler asks for it (most never do, and a controller per
 * try is not free), aborted with MW_RUNTIME_TIMEOUT when the try times out.
 */
type TryAbort = { controller?: AbortController; expired?: Error };

function signalOf(abort: TryAbort): AbortSignal {
  if (abort.controller === undefined) {
    abort.controller = new AbortController();
    if (abort.expired !== undefined) abort.controller.abort(abort.expired);
  }
  return abort.controller.signal;
}

/** What the gate must know of a remote agent's event beyond its envelope: a taken id, its claims. */
function factsOf(takenId: string | undefined, event: RemoteEvent): RuntimeFacts | undefined {
  const { source, causationid } = event;
  if (takenId === undefined && source === undefined && causationid === undefined) return undefined;
  const claimed =
    source === undefined && causationid === undefined
      ? undefined
      : {
          ...(source === undefined ? {} : { source }),
          ...(causationid === undefined ? {} : { causationid }),
        };
  return {
    ...(takenId === undefined ? {} : { takenId }),
    ...(claimed === undefined ? {} : { claimed }),
  };
}

/** What a remote agent authored of its event, as the envelope factory takes it. */
function authored(event: Omit<RemoteEvent, 'type' | 'data'>) {
  return {
    ...(event.subject === undefined ? {} : { subject: event.subject }),
    ...(event.target === undefined ? {} : { target: event.target }),
    ...(event.model === undefined ? {} : { model: event.model }),
    ...(event.id === undefined ? {} : { id: event.id }),
    ...(event.time === undefined ? {} : { time: event.time }),
    ...(event.signature === undefined ? {} : { signature: event.signature }),
  };
}
