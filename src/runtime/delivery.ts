import type { Envelope, GatedKind } from '../envelope/index.js';
import { type AgentRunnerDeps, createAgentRunner } from './agent-runner.js';
import { type AttemptsDeps, createAttempts } from './attempts.js';
import { createEffectRunner, type EffectRunnerDeps } from './effect-runner.js';

// Where the mesh and the package index have always imported them from.
export type { Outgoing } from './agent-runner.js';
export type { RetryOptions } from './attempts.js';

export type Delivery = {
  /** Hands an admitted message to the named consumers, or an admitted effect to its executor. */
  dispatch(envelope: Envelope, gated: GatedKind, consumers: readonly string[]): void;
};

/** What both runners and their shared attempts need. */
export type DeliveryDeps = Omit<AgentRunnerDeps, 'attempts'> &
  Omit<EffectRunnerDeps, 'attempts'> &
  AttemptsDeps;

/**
 * Routes what was admitted: a message to the agent runner (handlers), an effect to the effect runner
 * (executors). Both share one `attempts.ts` for retries (cockatiel), timeouts and dead letters.
 */
export function createDelivery(deps: DeliveryDeps): Delivery {
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
