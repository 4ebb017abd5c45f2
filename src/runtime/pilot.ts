import { isMeshwardenError, type MeshwardenError } from '../envelope/index.js';
import type { LedgerEntry } from '../ledger/index.js';
import type { ActivePolicy } from './active.js';
import type { Clock } from './envelopes.js';
import type { Partition } from './partitions.js';
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
 * The shell of pilot actions: decides each over the state of the partition that owns what it names
 * (pilot-decision.ts, pure), then records it in that partition's chain. A hold is found by its
 * message id in whichever partition holds it; a freeze by its subject's partition; a breaker reset
 * goes to every partition where that breaker is open (an agent-, edge- or mesh-scoped breaker may be
 * open in several), one entry each. Freezes, unfreezes and resets are `pilot.action` entries whose
 * state deltas are applied at once (as a decision's are) and replayed by recovery; approvals and
 * rejections are `hold.released` entries naming the pilot, written by the holds shell.
 */
export function createPilotActions(deps: {
  active: ActivePolicy;
  partitions: readonly Pick<Partition, 'index' | 'state' | 'holds' | 'admission'>[];
  /** The partition that owns a subject. */
  partitionOf: (subject: string) => number;
  clock: Clock;
  work: WorkTracker;
}): PilotActions {
  const { active, partitions, clock } = deps;

  /** Where an action is decided: the hold's partition, the subject's, or (a reset) every one. */
  const ownersOf = (
    action: PilotAction,
  ): readonly Pick<Partition, 'index' | 'state' | 'holds' | 'admission'>[] => {
    switch (action.action) {
      case 'approve':
      case 'reject':
        return [partitions.find((p) => p.state.hold(action.msgId) !== undefined) ?? partitions[0]!];
      case 'freeze':
      case 'unfreeze':
        return [partitions[deps.partitionOf(action.subject)]!];
      case 'reset':
        return partitions;
    }
  };

  const act = (action: PilotAction): ActionResult => {
    const now = clock();
    let refused: MeshwardenError | undefined;
    const recorded: Promise<LedgerEntry>[] = [];
    for (const owner of ownersOf(action)) {
      const decided = decidePilotAction(action, owner.state, active.policy, now);
      if (isMeshwardenError(decided)) {
        refused ??= decided;
        continue;
      }
      if (decided.kind === 'release') return owner.holds.release(decided.msgId, decided.release);
      const durable = owner.admission
        .commit(
          [
            {
              kind: ENTRY.pilotAction,
              at: now,
              subject: decided.subject,
              agent: pilotActor(action.act.pilot),
              data: {
                action: decided.action,
                deltas: decided.deltas,
                reason: action.act.reason,
                ...decided.data,
              },
            },
          ],
          decided.deltas,
        )
        .then((entries) => entries[0]!);
      deps.work.track(durable);
      recorded.push(durable);
    }
    // Refused everywhere (ownersOf names one partition at least), it is refused; else the first entry answers.
    if (recorded.length === 0) return refused as MeshwardenError;
    return recorded.length === 1 ? recorded[0]! : Promise.all(recorded).then((entries) => entries[0]!);
  };

  return {
    approve: (msgId, a) => act({ action: 'approve', msgId, act: a }),
    reject: (msgId, a) => act({ action: 'reject', msgId, act: a }),
    freeze: (subject, a) => act({ action: 'freeze', subject, act: a }),
    unfreeze: (subject, a) => act({ action: 'unfreeze', subject, act: a }),
    resetBreaker: (breaker, key, a) => act({ action: 'reset', breaker, key, act: a }),
  };
}
