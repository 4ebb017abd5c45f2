import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import type { Logger } from 'pino';
import type { Envelope, GatedKind, JsonValue, MeshwardenError } from '../envelope/index.js';
import { isMeshwardenError } from '../envelope/index.js';
import type { Ledger } from '../ledger/index.js';
import type { AgentSpec, Policy } from '../policy/index.js';
import type { AgentContext, EffectContext, IngressMessage } from './define.js';
import type { Clock, EnvelopeFactory } from './envelopes.js';
import { runtimeError } from './errors.js';
import type { MeshEvent, RunCounts } from './events.js';
import type { LoadedModules } from './modules.js';
import { deliveredRecord, ENTRY, effectExecutedRecord, failureRecord } from './records.js';
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

type Outgoing = { readonly envelope: Envelope; readonly gated: GatedKind };

export type Delivery = {
  /** Hands an admitted message to its consumers (or only `only`), or an admitted effect to its executor. */
  dispatch(envelope: Envelope, gated: GatedKind, only?: readonly string[]): void;
};

/** Runs handlers and executors with retries (cockatiel); records deliveries, failures and dead letters. */
export function createDelivery(deps: {
  policy: Policy;
  ledger: Ledger;
  modules: LoadedModules;
  log: Logger;
  clock: Clock;
  factory: EnvelopeFactory;
  work: WorkTracker;
  counts: RunCounts;
  publish: (event: MeshEvent) => void;
  admit: (envelope: Envelope, gated: GatedKind) => void;
  ingest: (ingress: string, message: IngressMessage) => void;
  retry?: Partial<RetryOptions>;
}): Delivery {
  const { policy, ledger, modules, log, clock, factory, work, counts, publish } = deps;
  const options = { ...DEFAULT_RETRY, ...deps.retry };
  const resilience = retry(handleAll, {
    maxAttempts: options.attempts - 1,
    backoff: new ExponentialBackoff({ initialDelay: options.initialDelayMs, maxDelay: options.maxDelayMs }),
  });

  /**
   * Bounds an asynchronous try. A synchronous handler needs no timer, which keeps the common case
   * cheap (cockatiel's timeout policy allocates an AbortController and a DOMException per call).
   */
  const bounded = <T>(value: T | Promise<T>, what: string): T | Promise<T> => {
    if (!(value instanceof Promise)) return value;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(runtimeError('MW_RUNTIME_TIMEOUT', { what, ms: options.timeoutMs })),
        options.timeoutMs,
      );
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
            work.track(
              ledger.append(failureRecord(ENTRY.deliveryFailed, clock(), msg, worker, tries, error)),
            );
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
    work.track(ledger.append(failureRecord(ENTRY.deadLetter, clock(), msg, worker, tries, error)));
    publish({
      type: 'dead-letter',
      at: clock(),
      msgId: msg.id,
      worker,
      code: error.code,
      message: error.message,
    });
  };

  const handle = async (msg: Envelope, spec: AgentSpec): Promise<boolean> => {
    const worker = `${spec.name}@${spec.version}`;
    const agent = modules.agents.get(spec.name);
    const result = await attempt(
      msg,
      worker,
      async (tries) => {
        if (agent === undefined)
          throw runtimeError('MW_RUNTIME_TRANSPORT', { agent: spec.name, transport: 'no module' });
        const outbox: Outgoing[] = [];
        await agent.handle(msg, agentContext(spec, msg, tries, outbox));
        return outbox;
      },
      (cause) =>
        runtimeError(
          'MW_RUNTIME_HANDLER',
          { agent: worker, msgId: msg.id, cause: describe(cause) },
          { cause },
        ),
    );
    if (!result.ok) {
      deadLetter(msg, worker, result.attempt, result.error);
      return false;
    }
    // Children are chained before the delivery entry, so a durable delivery implies durable children.
    for (const out of result.value) deps.admit(out.envelope, out.gated);
    work.track(ledger.append(deliveredRecord(clock(), msg, worker, result.attempt)));
    publish({ type: 'delivered', at: clock(), msgId: msg.id, agent: worker });
    return true;
  };

  const agentContext = (spec: AgentSpec, msg: Envelope, tries: number, outbox: Outgoing[]): AgentContext => ({
    agent: spec.name,
    version: spec.version,
    attempt: tries,
    // Made on first use: most handlers never log, and a child logger per delivery is not free.
    get log() {
      return log.child({ agent: spec.name, msgId: msg.id });
    },
    emit(type, data, o = {}) {
      const envelope = factory.child(msg, spec, type, data, o);
      outbox.push({ envelope, gated: 'message' });
      return envelope.id;
    },
    effect(name, data, o = {}) {
      const envelope = factory.child(msg, spec, name, data, o);
      outbox.push({ envelope, gated: 'effect' });
      return envelope.id;
    },
  });

  const execute = async (request: Envelope) => {
    const worker = `effect:${request.type}`;
    const executor = modules.effects.get(request.type);
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
        const ctx: EffectContext = {
          effect: request.type,
          attempt: tries,
          get log() {
            return log.child({ effect: request.type, msgId: request.id });
          },
          ingest: deps.ingest,
        };
        return (await bounded(executor.execute(request, ctx), `effect ${request.type}`)) ?? undefined;
      },
      (cause) =>
        runtimeError(
          'MW_RUNTIME_EXECUTOR',
          { effect: request.type, msgId: request.id, cause: describe(cause) },
          { cause },
        ),
    );
    if (!result.ok) {
      counts.effects.failed++;
      deadLetter(request, worker, result.attempt, result.error);
      return;
    }
    counts.effects.executed++;
    const value = result.value as JsonValue | undefined;
    work.track(ledger.append(effectExecutedRecord(clock(), request, result.attempt, value)));
    publish({
      type: 'effect-executed',
      at: clock(),
      msgId: request.id,
      effect: request.type,
      subject: request.subject,
      ...(value === undefined ? {} : { result: value }),
    });
  };

  return {
    dispatch(envelope, gated, only) {
      if (gated === 'effect') {
        work.run(() => execute(envelope));
        return;
      }
      const names =
        only ??
        (envelope.target !== undefined ? [envelope.target] : (policy.consumers.get(envelope.type) ?? []));
      if (names.length === 0) {
        counts.messages.delivered++;
        return;
      }
      // The gate only admits known targets; recovery may name an agent the new policy removed.
      const specs = names.flatMap((name) => policy.agents.get(name) ?? []);
      let remaining = specs.length;
      let allOk = true;
      for (const spec of specs) {
        work.run(async () => {
          allOk = (await handle(envelope, spec)) && allOk;
          if (--remaining === 0 && allOk) counts.messages.delivered++;
        });
      }
    },
  };
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
