import type { Logger } from 'pino';
import type { Envelope, JsonValue } from '../envelope/index.js';
import { errorText } from '../envelope/index.js';
import type { LedgerRecord } from '../ledger/index.js';
import type { ActivePolicy } from './active.js';
import { type Attempts, signalOf, type TryAbort } from './attempts.js';
import type { EffectContext, IngressMessage } from './define.js';
import type { Clock } from './envelopes.js';
import { runtimeError } from './errors.js';
import type { MeshEvent, RunCounts } from './events.js';
import { checkedReplyToken, effectExecutedRecord } from './records.js';
import type { WorkTracker } from './work.js';

export type EffectRunner = {
  /** Runs an admitted effect request in its executor, with retries; records `effect.executed`. */
  execute(request: Envelope): Promise<void>;
};

/** Runs effect executors with retries; records what they did, or dead-letters what runs out of tries. */
export type EffectRunnerDeps = {
  active: ActivePolicy;
  log: Logger;
  clock: Clock;
  work: WorkTracker;
  counts: RunCounts;
  publish: (event: MeshEvent) => void;
  ingest: (ingress: string, message: IngressMessage) => void;
  /**
   * Records an outcome about a message (delivered, executed) in its subject's partition through the
   * admit path, applying the state deltas it carries (an executor's reply token); resolves when durable.
   */
  record: (record: LedgerRecord) => Promise<unknown>;
  attempts: Attempts;
};

export function createEffectRunner(deps: EffectRunnerDeps): EffectRunner {
  const { active, log, clock, work, counts, publish } = deps;
  const { attempt, bounded, deadLetter } = deps.attempts;

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
    // The gate knows a reply token from the moment its record is appended (the deltas apply then).
    work.track(deps.record(executed));
    publish({
      type: 'effect-executed',
      at: clock(),
      msgId: request.id,
      effect: request.type,
      subject: request.subject,
      ...(value === undefined ? {} : { result: value }),
    });
  };

  return { execute };
}
