import { isMeshwardenError } from '../envelope/index.js';
import type { LedgerWriter } from '../ledger/index.js';
import type { StateStore } from '../state/index.js';
import type { ActivePolicy } from './active.js';
import type { Clock } from './envelopes.js';
import type { Holds } from './holds.js';
import {
  type ActionResult,
  decidePilotAction,
  type PilotAct,
  type PilotAction,
  pilotActor,
} from './pilot-decision.js';
import { ENTRY } from './records.js';
import type { WorkTracker } from './work.js';

/**
 * A pilot's actions. Each returns the same shape (`ActionResult`): refused at once with a typed
 * error, or the promise of its ledger entry. An unfreeze's entry names the breakers it closed
 * (`data.breakers`).
 */
export type PilotActions = {
  /** Delivers (or executes) a held message. */
  approve(msgId: string, act: PilotAct): ActionResult;
  /** Drops a held message. */
  reject(msgId: string, act: PilotAct): ActionResult;
  /** Holds everything for a subject until a pilot unfreezes it (the `pilot` breaker). */
  freeze(subject: string, act: PilotAct): ActionResult;
  /** Closes every freeze on a subject: the loop guard's, a pilot's, breakers with action freeze. */
  unfreeze(subject: string, act: PilotAct): ActionResult;
  /** Closes one open breaker and clears its count, so it does not trip again on old traffic. */
  resetBreaker(id: string, key: string, act: PilotAct): ActionResult;
};

/**
 * The shell of pilot actions: decides each over the state in force (pilot-decision.ts, pure), then
 * records it. Freezes, unfreezes and resets are `pilot.action` entries whose state deltas are applied
 * at once (as a decision's are) and replayed by recovery; approvals and rejections are
 * `hold.released` entries naming the pilot, written by the holds shell.
 */
export function createPilotActions(deps: {
  active: ActivePolicy;
  ledger: LedgerWriter;
  state: StateStore;
  holds: Holds;
  clock: Clock;
  work: WorkTracker;
}): PilotActions {
  const { active, ledger, state, clock } = deps;

  const act = (action: PilotAction): ActionResult => {
    const now = clock();
    const decided = decidePilotAction(action, state, active.policy, now);
    if (isMeshwardenError(decided)) return decided;
    if (decided.kind === 'release') return deps.holds.release(decided.msgId, decided.release);
    state.apply(decided.deltas);
    const durable = ledger.append({
      kind: ENTRY.pilotAction,
      at: now,
      subject: decided.subject,
      agent: pilotActor(action.act.pilot),
      data: { action: decided.action, deltas: decided.deltas, reason: action.act.reason, ...decided.data },
    });
    deps.work.track(durable);
    return durable;
  };

  return {
    approve: (msgId, a) => act({ action: 'approve', msgId, act: a }),
    reject: (msgId, a) => act({ action: 'reject', msgId, act: a }),
    freeze: (subject, a) => act({ action: 'freeze', subject, act: a }),
    unfreeze: (subject, a) => act({ action: 'unfreeze', subject, act: a }),
    resetBreaker: (breaker, key, a) => act({ action: 'reset', breaker, key, act: a }),
  };
}
