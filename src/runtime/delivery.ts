import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import type { Logger } from 'pino';
import type { Envelope, GatedKind, JsonValue, MeshwardenError } from '../envelope/index.js';
import { errorText, isMeshwardenError } from '../envelope/index.js';
import type { LedgerReader, LedgerRecord, LedgerWriter } from '../ledger/index.js';
import type { AgentSpec } from '../policy/index.js';
import type { ActivePolicy } from './active.js';
import type { AgentContext, AgentDefinition, EffectContext, IngressMessage } from './define.js';
import type { Clock, EnvelopeFactory } from './envelopes.js';
import { runtimeError } from './errors.js';
import type { MeshEvent, RunCounts } from './events.js';
import type { FailureBreakers } from './failures.js';
import { authored, claimMismatch, type Outbox, settled } from './forwarded.js';
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
};

export type Delivery = {
  /** Hands an admitted message to the named consumers, or an admitted effect to its executor. */
  dispatch(envelope: Envelope, gated: GatedKind, consumers: readonly string[]): void;
};

/** Runs handlers and executors with retries (cockatiel); records deliveries, failures and dead letters. */
export function createDelivery(deps: {
  active: ActivePolicy;
  ledger: LedgerWriter & Pick<LedgerReader, 'byMessage'>;
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
  /** Records an emission that was refused before the gate (quarantine), so nothing vanishes. */
  refuse: (out: Outgoing, reason: string, detail: string) => void;
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
        return settled(outbox.items);
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
      // Throwing would land in the agent's timer callback and crash the process: record it instead.
      log.error({ err: error, msgId: msg.id, agent: spec.name }, 'late emit refused');
      deps.refuse(out, 'envelope.late_emit', `${error.message}.`);
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
      const envelope = factory.child(msg, spec, event.type, event.data, authored(event));
      const out: Outgoing = {
        envelope,
        gated: active.policy.effects.has(event.type) ? 'effect' : 'message',
        ...(event.id === undefined ? {} : { external: true }),
      };
      if (event.id === undefined)
        return claimsRefused(spec, msg, event, out) ? envelope.id : collect(outbox, spec, msg, out);
      // An id the ledger already holds (a message of the warden's own, say) names another message:
      // refused under an id of the warden's own, so that message's lineage stays its own. The read is
      // awaited: the event keeps its place in the outbox, and the try waits for it (see `handle`).
      const id = event.id;
      const checked = ledger.byMessage(id).then((found): Outgoing | undefined => {
        if (found.length > 0) {
          const { id: _taken, ...rest } = event;
          deps.refuse(
            { ...out, envelope: factory.child(msg, spec, event.type, event.data, authored(rest)) },
            'envelope.id_taken',
            `Agent ${spec.name} answered with an event whose id ${id} already names another message in the ledger.`,
          );
          return undefined;
        }
        return claimsRefused(spec, msg, event, out) ? undefined : out;
      });
      if (outbox.open) {
        // A try that throws never awaits it: its failure (a closed ledger) then fails nobody.
        checked.catch(() => {});
        outbox.items.push(checked);
        return envelope.id;
      }
      // Late: refused as late once the read is done, as an emission after the try settled is.
      work.track(checked.then((late) => late !== undefined && collect(outbox, spec, msg, late)));
      return envelope.id;
    },
  });

  /** Refuses (and says true for) an event whose source or causation is not the remote's own. */
  const claimsRefused = (spec: AgentSpec, msg: Envelope, event: RemoteEvent, out: Outgoing): boolean => {
    const refused = claimMismatch(spec.name, msg, event, out.envelope.source);
    if (refused !== undefined) deps.refuse(out, refused.reason, refused.detail);
    return refused !== undefined;
  };

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
