import type { MeshwardenError } from '../envelope/index.js';
import type { LedgerEntry, LedgerWriter } from '../ledger/index.js';
import {
  breakerCountKey,
  breakerKey,
  breakerOpenAt,
  PILOT_BREAKER,
  type StateDelta,
  type StateStore,
  slotMsFor,
} from '../state/index.js';
import type { ActivePolicy } from './active.js';
import type { Clock } from './envelopes.js';
import { runtimeError } from './errors.js';
import { entityFreezeIds } from './freezes.js';
import type { Holds } from './holds.js';
import { ENTRY } from './records.js';
import type { WorkTracker } from './work.js';

/** Who acts and why: every pilot action is recorded with both. */
export type PilotAct = { readonly pilot: string; readonly reason: string };

export type PilotActions = {
  /** Delivers (or executes) a held message. */
  approve(msgId: string, act: PilotAct): Promise<LedgerEntry> | MeshwardenError;
  /** Drops a held message. */
  reject(msgId: string, act: PilotAct): Promise<LedgerEntry> | MeshwardenError;
  /** Holds everything for a subject until a pilot unfreezes it (the `pilot` breaker). */
  freeze(subject: string, act: PilotAct): Promise<LedgerEntry> | MeshwardenError;
  /** Closes every freeze on a subject: the loop guard's, a pilot's, breakers with action freeze. */
  unfreeze(
    subject: string,
    act: PilotAct,
  ): { readonly durable: Promise<LedgerEntry>; readonly closed: readonly string[] } | MeshwardenError;
  /** Closes one open breaker and clears its count, so it does not trip again on old traffic. */
  resetBreaker(id: string, key: string, act: PilotAct): Promise<LedgerEntry> | MeshwardenError;
};

/** `pilot:<name>`, the actor a pilot's ledger entries name. */
export function pilotActor(name: string): string {
  return `pilot:${name}`;
}

/**
 * A pilot's actions as ledger entries. Freezes, unfreezes and resets are `pilot.action` entries whose
 * state deltas are applied at once (as a decision's are) and replayed by recovery; approvals and
 * rejections are `hold.released` entries naming the pilot.
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

  const record = (
    action: string,
    subject: string,
    act: PilotAct,
    deltas: readonly StateDelta[],
    extra: Record<string, string | readonly string[]> = {},
  ): Promise<LedgerEntry> => {
    state.apply(deltas);
    const durable = ledger.append({
      kind: ENTRY.pilotAction,
      at: clock(),
      subject,
      agent: pilotActor(act.pilot),
      data: { action, deltas, reason: act.reason, ...extra },
    });
    deps.work.track(durable);
    return durable;
  };

  /** Text the ledger cannot record is refused before anything changes. */
  const badText = (texts: Record<string, string>) => {
    for (const [what, text] of Object.entries(texts)) {
      if (!text.isWellFormed()) return runtimeError('MW_PILOT_BAD_TEXT', { what });
    }
    return undefined;
  };

  const release = (msgId: string, outcome: 'deliver' | 'deny', act: PilotAct) =>
    deps.holds.release(msgId, { outcome, by: pilotActor(act.pilot), reason: act.reason });

  return {
    approve: (msgId, act) => release(msgId, 'deliver', act),
    reject: (msgId, act) => release(msgId, 'deny', act),
    freeze(subject, act) {
      const bad = badText({ subject, reason: act.reason, pilot: act.pilot });
      if (bad !== undefined) return bad;
      const key = breakerKey(PILOT_BREAKER, subject);
      const now = clock();
      if (breakerOpenAt(state.breaker(key), now)) return runtimeError('MW_PILOT_ALREADY_FROZEN', { subject });
      const open: StateDelta = {
        key,
        kind: 'breaker-open',
        state: { state: 'open', action: 'freeze', openedAt: now, by: pilotActor(act.pilot) },
      };
      return record('freeze', subject, act, [open]);
    },
    unfreeze(subject, act) {
      const bad = badText({ subject, reason: act.reason, pilot: act.pilot });
      if (bad !== undefined) return bad;
      const now = clock();
      const closed = entityFreezeIds(active.policy).filter((id) =>
        breakerOpenAt(state.breaker(breakerKey(id, subject)), now),
      );
      if (closed.length === 0) return runtimeError('MW_PILOT_NOT_FROZEN', { subject });
      const deltas = closed.map(
        (id): StateDelta => ({ key: breakerKey(id, subject), kind: 'breaker-close' }),
      );
      return { durable: record('unfreeze', subject, act, deltas, { breakers: closed }), closed };
    },
    resetBreaker(id, key, act) {
      const bad = badText({ breaker: id, key, reason: act.reason, pilot: act.pilot });
      if (bad !== undefined) return bad;
      if (!breakerOpenAt(state.breaker(breakerKey(id, key)), clock())) {
        return runtimeError('MW_PILOT_NO_BREAKER', { id, key });
      }
      const deltas: StateDelta[] = [{ key: breakerKey(id, key), kind: 'breaker-close' }];
      const rule = active.policy.breakers.find((b) => b.id === id);
      if (rule !== undefined) {
        const slotMs = slotMsFor(rule.windowMs);
        deltas.push({
          key: breakerCountKey(id, key),
          kind: 'window',
          state: { slotMs, slots: [], start: 0 },
        });
      }
      return record('reset', key, act, deltas, { breaker: id });
    },
  };
}
