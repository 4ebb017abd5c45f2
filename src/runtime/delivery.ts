import type { Logger } from 'pino';
import type { Envelope, GatedKind } from '../envelope/index.js';
import type { LedgerRecord } from '../ledger/index.js';
import type { ActivePolicy } from './active.js';
import { createAgentRunner, type Outgoing } from './agent-runner.js';
import { createAttempts, type RetryOptions } from './attempts.js';
import type { IngressMessage } from './define.js';
import { createEffectRunner } from './effect-runner.js';
import type { Clock, EnvelopeFactory } from './envelopes.js';
import type { MeshEvent, RunCounts } from './events.js';
import type { FailureBreakers } from './failures.js';
import type { WorkTracker } from './work.js';

// Where the mesh and the package index have always imported them from.
export type { Outgoing } from './agent-runner.js';
export type { RetryOptions } from './attempts.js';

export type Delivery = {
  /** Hands an admitted message to the named consumers, or an admitted effect to its executor. */
  dispatch(envelope: Envelope, gated: GatedKind, consumers: readonly string[]): void;
};

/**
 * Routes what was admitted: a message to the agent runner (handlers), an effect to the effect runner
 * (executors). Both share one `attempts.ts` for retries (cockatiel), timeouts and dead letters.
 */
export function createDelivery(deps: {
  active: ActivePolicy;
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
  /** Admits one handler's emissions, one atomic ledger group per partition; resolves when durable. */
  admitAll: (emitted: readonly Outgoing[]) => Promise<unknown>;
  /** Whether the ledger already holds a message with this id (a remote agent's own id may name one). */
  idTaken: (id: string) => Promise<boolean>;
  ingest: (ingress: string, message: IngressMessage) => void;
  /**
   * Records an outcome about a message (delivered, executed) in its subject's partition through the
   * admit path, applying the state deltas it carries (an executor's reply token); resolves when durable.
   */
  record: (record: LedgerRecord) => Promise<unknown>;
  retry?: Partial<RetryOptions>;
}): Delivery {
  const attempts = createAttempts(deps);
  const agents = createAgentRunner({ ...deps, attempts });
  const effects = createEffectRunner({ ...deps, attempts });
  return {
    dispatch(envelope, gated, consumers) {
      if (gated === 'effect') {
        deps.work.run(() => effects.execute(envelope));
        return;
      }
      agents.deliver(envelope, consumers);
    },
  };
}
