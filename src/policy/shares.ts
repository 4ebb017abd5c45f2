import type { Policy, Scope } from './types.js';

/**
 * Into how many shares a limit, budget or count breaker of `scope` is split. State lives in the
 * partition that owns a message's subject: entity-scoped keys stay in one partition and are exact,
 * while agent-, edge- and mesh-scoped keys are counted in every partition their traffic reaches. So
 * each of P partitions enforces 1/P of such a limit, and the mesh as a whole stays within it without
 * partitions talking to each other (docs/policy.md "Scopes").
 */
export function sharesOf(policy: Pick<Policy, 'partitions'>, scope: Scope): number {
  return scope === 'entity' || policy.partitions <= 1 ? 1 : policy.partitions;
}

/**
 * A count's share of `over` (a breaker trips on the count past it): rounded down, so P partitions
 * together never let more than `over` through before one trips.
 */
export function overShare(over: number, shares: number): number {
  return shares === 1 ? over : Math.floor(over / shares);
}
