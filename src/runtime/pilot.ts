import { isMeshwardenError, type MeshwardenError } from '../envelope/index.js';
import type { LedgerEntry } from '../ledger/index.js';
import type { ActivePolicy } from './active.js';
import type { Clock } from './envelopes.js';
import { runtimeError } from './errors.js';
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

/** An action on a partition another node owns (distributed mode). */
function elsewhere(what: string, where: number | string): MeshwardenError {
  return runtimeError('MW_RUNTIME_PARTITION_ELSEWHERE', {
    what,
    where: typeof where === 'number' ? `partition ${where}` : where,
  });
}

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
  /** Distributed mode: whether this node owns a partition now (others' are decided where they are owned). */
  owns?: (partition: number) => boolean;
}): PilotActions {
  const { active, clock } = deps;
  const owns = deps.owns;

  /** Where an action is decided: the hold's partition, the subject's, or (a reset) every one owned here. */
  const ownersOf = (
    action: PilotAction,
  ): readonly Pick<Partition, 'index' | 'state' | 'holds' | 'admission'>[] | MeshwardenError => {
    const partitions = owns === undefined ? deps.partitions : deps.partitions.filter((p) => owns(p.index));
    switch (action.action) {
      case 'approve':
      case 'reject': {
        const holder = partitions.find((p) => p.state.hold(action.msgId) !== undefined);
        if (holder !== undefined) return [holder];
        if (owns !== undefined && partitions.length < deps.partitions.length)
          return elsewhere(`message ${action.msgId}`, 'its partition (no partition of this node holds it)');
        return [deps.partitions[0]!];
      }
      case 'freeze':
      case 'unfreeze': {
        const p = deps.partitionOf(action.subject);
        if (owns !== undefined && !owns(p)) return elsewhere(action.subject, p);
        return [deps.partitions[p]!];
      }
      case 'reset':
        if (partitions.length === 0)
          return elsewhere(`breaker ${action.breaker}`, 'the partitions (this node owns none now)');
        return partitions;
    }
  };

  const act = (action: PilotAction): ActionResult => {
    const now = clock();
    let refused: MeshwardenError | undefined;
    const recorded: Promise<LedgerEntry>[] = [];
    const owners = ownersOf(action);
    if (isMeshwardenError(owners)) return owners;
    for (const owner of owners) {
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

/**
 * A cluster node's pilot actions (distributed mode): each is decided here when this node owns its
 * partition, and otherwise routed (`route`) to the node that does. A breaker reset is always routed:
 * an agent-, edge- or mesh-scoped breaker may be open in partitions of several nodes.
 */
export function routedPilot(
  local: PilotActions,
  route: (action: PilotAction) => Promise<LedgerEntry>,
): PilotActions {
  const here = (result: ActionResult, action: PilotAction): ActionResult =>
    isMeshwardenError(result) && result.code === 'MW_RUNTIME_PARTITION_ELSEWHERE' ? route(action) : result;
  return {
    approve: (msgId, act) => here(local.approve(msgId, act), { action: 'approve', msgId, act }),
    reject: (msgId, act) => here(local.reject(msgId, act), { action: 'reject', msgId, act }),
    freeze: (subject, act) => here(local.freeze(subject, act), { action: 'freeze', subject, act }),
    unfreeze: (subject, act) => here(local.unfreeze(subject, act), { action: 'unfreeze', subject, act }),
    resetBreaker: (breaker, key, act) => route({ action: 'reset', breaker, key, act }),
  };
}
