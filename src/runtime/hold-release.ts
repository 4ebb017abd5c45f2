import type { Logger } from 'pino';
import type { Decision, Verdict } from '../gate/index.js';
import type { LedgerEntry, LedgerRecord, LedgerWriter } from '../ledger/index.js';
import { holdRelease, type StateDelta, type StateStore } from '../state/index.js';
import type { ActivePolicy } from './active.js';
import { alarmsOf, driftAlarmRecords } from './alarms.js';
import type { Delivery } from './delivery.js';
import type { Clock } from './envelopes.js';
import type { MeshEvent, RunCounts } from './events.js';
import type { HeldMessage, Release } from './holds.js';
import type { Judge } from './judge.js';
import { ENTRY } from './records.js';
import type { WorkTracker } from './work.js';

/** What releasing a hold needs: a partition's state and chain, and its judge to gate it again. */
export type HoldReleaseDeps = {
  readonly active: ActivePolicy;
  readonly state: StateStore;
  readonly ledger: Pick<LedgerWriter, 'appendAll'>;
  /** The partition whose chain records the release. */
  readonly partition: number;
  readonly clock: Clock;
  readonly work: WorkTracker;
  readonly counts: RunCounts;
  readonly publish: (event: MeshEvent) => void;
  /** Hands the released message to its consumers or executor, once the release is durable. */
  readonly dispatch: Delivery['dispatch'];
  /** A partner's message may still go where it is addressed, under the policy in force: why not, if not. */
  readonly reach: (hold: HeldMessage) => Verdict | undefined;
  readonly log: Logger;
};

/**
 * Releases a hold (admission.ts's `release`; holds.ts checked it may be): gated again where it must
 * be, recorded in a `hold.released` entry, then delivered or executed once that is durable.
 */
export function releaseHold(
  deps: HoldReleaseDeps,
  judge: Pick<Judge, 'regate' | 'consumersOf'>,
  hold: HeldMessage,
  r: Release,
): Promise<LedgerEntry> {
  const { active, state, ledger, partition, clock, work } = deps;
  // One time for the re-gate and the entry that records it: a replay decides it at the entry's time.
  const now = clock();
  const released = holdRelease(hold.msgId);
  // An approval hold reserved its limits and counts when it was held. A message the loop guard or
  // a freeze held never reached those stages: released, it is gated again with those stops lifted,
  // so it is counted, budgeted and remembered (echo marks) like any admitted message, and a budget
  // can still refuse it.
  // A partner's approval hold is not gated again, but the policy may have stopped exposing its
  // target since: its reach is checked again, so no timeout or approval delivers past that.
  const regated =
    r.outcome !== 'deliver'
      ? undefined
      : hold.verdict.stage !== 'approval'
        ? judge.regate(hold, now)
        : hold.partner === true
          ? unreachable(deps.reach(hold))
          : undefined;
  const outcome = regated === undefined || regated.verdict.decision === 'deliver' ? r.outcome : 'deny';
  // Delivered under the policy in force now, which the envelope says like any admitted one.
  const envelope = regated?.envelope ?? { ...hold.envelope, policydigest: active.policy.digest };
  const consumers = outcome === 'deliver' && hold.gated === 'message' ? judge.consumersOf(envelope) : [];
  // The release closes the hold in state first, then the re-gated decision's changes, as applied.
  const deltas: StateDelta[] = [released, ...(regated?.deltas ?? [])];
  // The hold closes in state only once the ledger took its release (never for a refused append).
  const record = releasedRecord(now, hold, r, { outcome, consumers, deltas, verdict: regated?.verdict });
  // A released message that raised a drift alarm (re-gated and delivered) writes its entry too.
  const alarms = regated === undefined ? [] : driftAlarmRecords([record]);
  const durable = ledger
    .appendAll([record, ...alarms], partition, () => state.apply([released]))
    .then((entries) => entries[0]!);
  if (alarms.length > 0) {
    const told = alarmsOf(clock(), partition, [record]).filter((a) => a.event === 'drift.alarm');
    durable.then(
      () => {
        for (const a of told) deps.publish(a);
      },
      () => {},
    );
  }
  deps.log.info({ msgId: hold.msgId, rule: hold.verdict.rule, outcome, by: r.by }, 'hold released');
  const refused = outcome !== r.outcome ? regated?.verdict.reason : undefined;
  const settled = durable.then(() => {
    const answered = deps.counts.answered;
    if (r.by === 'timeout') answered.timedOut++;
    else if (r.outcome === 'deliver') answered.approved++;
    else answered.rejected++;
    deps.publish({
      type: 'released',
      at: clock(),
      msgId: hold.msgId,
      outcome,
      by: r.by,
      messageType: hold.envelope.type,
      subject: hold.subject,
      ...(r.reason === undefined ? {} : { reason: r.reason }),
      ...(refused === undefined ? {} : { regateReason: refused }),
    });
    if (outcome === 'deliver') deps.dispatch(envelope, hold.gated, consumers);
  });
  work.track(settled);
  return durable;
}

/** A refusal of a partner's reach, in the shape of a re-gated decision (nothing to apply). */
function unreachable(refused: Verdict | undefined): Decision | undefined {
  return refused === undefined ? undefined : { verdict: refused, deltas: [] };
}

/** The `hold.released` entry: who released it, the outcome, and what the re-gate decided. */
function releasedRecord(
  at: number,
  hold: HeldMessage,
  r: Release,
  then: {
    outcome: 'deliver' | 'deny';
    consumers: readonly string[];
    deltas: readonly StateDelta[];
    verdict: Verdict | undefined;
  },
): LedgerRecord {
  const { outcome, consumers, deltas, verdict } = then;
  return {
    kind: ENTRY.holdReleased,
    at,
    msgId: hold.msgId,
    subject: hold.subject,
    ...(r.by === 'timeout' ? {} : { agent: r.by }),
    data: {
      by: r.by,
      ...(consumers.length === 0 ? {} : { consumers }),
      deltas,
      outcome,
      ...(r.reason === undefined ? {} : { reason: r.reason }),
      ...(hold.verdict.rule === undefined ? {} : { rule: hold.verdict.rule }),
      ...(verdict === undefined ? {} : { verdict }),
    },
  };
}
