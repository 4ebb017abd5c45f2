import type { Policy } from '../policy/index.js';
import { breakerKey, breakerOpenAt, LOOP_BREAKER, PILOT_BREAKER, type StateView } from '../state/index.js';

/** Breaker ids that freeze an entity: the loop guard's, a pilot's, and entity breakers with action freeze. */
export function entityFreezeIds(policy: Policy): readonly string[] {
  return [
    LOOP_BREAKER,
    PILOT_BREAKER,
    ...policy.breakers.filter((b) => b.scope === 'entity' && b.action === 'freeze').map((b) => b.id),
  ];
}

/** True when some freeze holds everything for `subject` at `now`. */
export function isFrozen(policy: Policy, state: StateView, subject: string, now: number): boolean {
  return entityFreezeIds(policy).some((id) => breakerOpenAt(state.breaker(breakerKey(id, subject)), now));
}
