import type { Envelope, GatedKind } from '../envelope/index.js';
import type { Policy } from '../policy/index.js';
import { workerName } from './failures.js';

// Failure breakers count a delivered message's failed tries (failures.ts) by its scope's key: the
// replay keeps, for each message the candidate delivered to a worker a failure breaker watches, the
// few fields those keys are made of, until the ledger records the delivery done (or dead-lettered).

type Key = Pick<Envelope, 'id' | 'source' | 'subject' | 'type' | 'target'>;

export type FailureWatch = {
  /** The candidate delivered `env`: kept when a failure breaker watches its worker. */
  delivered(env: Envelope, gated: GatedKind): void;
  /** The envelope (its keys) whose failure `worker` reports, if kept. */
  get(id: string): Envelope | undefined;
  /** `worker` is done with `id` (delivered, executed, or dead-lettered). */
  done(id: string, worker: string | undefined): void;
  readonly size: () => number;
};

export function createFailureWatch(candidate: Policy): FailureWatch {
  const workers = new Set<string>();
  for (const r of candidate.breakers) if (r.failures !== undefined) workers.add(r.failures.worker);
  const watchedType = new Map<string, boolean>();
  const watched = (env: Envelope, gated: GatedKind): boolean => {
    if (workers.size === 0) return false;
    if (gated === 'effect') return workers.has(`effect:${env.type}`);
    let w = watchedType.get(env.type);
    if (w === undefined) {
      w = [...candidate.agents].some(([name, a]) => workers.has(name) && a.consumes.includes(env.type));
      watchedType.set(env.type, w);
    }
    return w;
  };
  const kept = new Map<string, Key>();
  return {
    delivered(env, gated) {
      if (!watched(env, gated)) return;
      const key: Key = { id: env.id, source: env.source, subject: env.subject, type: env.type };
      kept.set(env.id, env.target === undefined ? key : { ...key, target: env.target });
    },
    get: (id) => kept.get(id) as Envelope | undefined,
    done(id, worker) {
      if (worker !== undefined && workers.has(workerName(worker))) kept.delete(id);
    },
    size: () => kept.size,
  };
}
