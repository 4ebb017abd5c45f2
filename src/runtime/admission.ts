import type { Logger } from 'pino';
import type { Verdict } from '../gate/index.js';
import type { LedgerEntry, LedgerReader, LedgerRecord, LedgerWriter } from '../ledger/index.js';
import type { StateDelta, StateStore } from '../state/index.js';
import type { ActivePolicy } from './active.js';
import { alarmsOf, driftAlarmRecords, raisesAlarm } from './alarms.js';
import type { IngressMessage } from './define.js';
import type { Delivery, Outgoing } from './delivery.js';
import type { Clock, EnvelopeFactory } from './envelopes.js';
import type { MeshEvent, RunCounts } from './events.js';
import { takenOutgoing } from './forwarded.js';
import { releaseHold } from './hold-release.js';
import type { HeldMessage, Release } from './holds.js';
import { createJudge, type Judged, type Origin } from './judge.js';
import type { rejection } from './rejected.js';
import { type MeshTelemetry, noTelemetry } from './telemetry.js';
import type { WorkTracker } from './work.js';

export type { Origin } from './judge.js';

/** A root message as a door hands it to an ingress. */
export type RootMessage = IngressMessage & {
  readonly id?: string;
  readonly target?: string;
  /** A pilot who sent it by hand (`pilot:<name>`), recorded with the decision. */
  readonly sentBy?: string;
  /** Sent by an outside caller (a `partner` token): the gate lets it reach only the exposed agent it addresses. */
  readonly partner?: boolean;
  /** The caller's W3C `traceparent` (an HTTP header): the case continues the caller's trace. */
  readonly traceparent?: string;
};

/**
 * The one admit path: the only place that runs the gate, applies its state deltas, builds decision
 * entries, appends them and settles them (write-ahead: deliver, execute or hold once durable). One
 * admission per partition, over that partition's state and chain; its partition's bus handler
 * (`partitionHandler`, partitions.ts) is the only caller of `ingest` and `admitAll`. A hold's
 * release is hold-release.ts, run over the same state, chain and judge.
 */
export type Admission = {
  /**
   * Gates a root message from an ingress and appends its decision at once; `taken` says whether the
   * ledger already holds a message with its id (read before, by the partition handler). Returns the
   * id it was recorded under, and its decision entry once durable. `assigned`: the id is the
   * warden's own, given by the node that sent it over the bus (distributed mode), not from outside.
   */
  ingest(ingress: string, message: RootMessage, taken: boolean, assigned?: boolean): Admitted;
  /**
   * Admits what one handler emitted for this partition as one atomic ledger group: a crash keeps all
   * of it or none (the agent runner splits a handler's emissions by partition first). `taken` names
   * the emissions whose id from outside names another message (read before, by the partition
   * handler): each is gated under an id of the warden's own, and refused (`takenOutgoing`).
   */
  admitAll(emitted: readonly Outgoing[], taken?: ReadonlySet<Outgoing>): Promise<unknown>;
  /**
   * Releases a hold (holds.ts checked it may be): a pilot's approval or rejection, or a timeout. A
   * loop-guard or freeze hold is gated again with those stops lifted; a partner's approval hold has
   * its reach checked again. Applies the hold's release and the re-gated decision's deltas, records
   * them in a `hold.released` entry, and delivers or executes the message once that is durable.
   */
  release(hold: HeldMessage, release: Release): Promise<LedgerEntry>;
  /**
   * Records a change of state the gate did not decide (a pilot's freeze or reset, a failure count, an
   * executor's reply token): appends its records as one group, and applies its deltas once the
   * ledger accepted them (never for records it refused: state moves only with what is written).
   */
  commit(records: readonly LedgerRecord[], deltas: readonly StateDelta[]): Promise<LedgerEntry[]>;
  /** Records input that never became an envelope (quarantined at the `ingress` stage), bounded by `rejection`. */
  reject(rejected: Rejection): Promise<LedgerEntry>;
  /** The first entry (its decision) the ledger holds for each of these message ids, in one read. */
  decisionsOf(ids: readonly string[]): Promise<ReadonlyMap<string, LedgerEntry>>;
};

export type AdmissionDeps = {
  readonly active: ActivePolicy;
  readonly state: StateStore;
  /** Appends decisions; reads only to tell whether an id from outside is taken. */
  readonly ledger: LedgerWriter & Pick<LedgerReader, 'firstOfEach'>;
  /** The partition this admission decides for: its state is `state`, its records go in its chain. */
  readonly partition: number;
  readonly clock: Clock;
  readonly factory: EnvelopeFactory;
  readonly counts: RunCounts;
  readonly work: WorkTracker;
  readonly publish: (event: MeshEvent) => void;
  /** Whether anyone listens: events are built only then, off the hot path otherwise. */
  readonly listening: () => boolean;
  /** Hands what was admitted to its consumers or executor, once its decision is durable. */
  readonly dispatch: Delivery['dispatch'];
  /** Arms a hold's timer once its decision is durable (its `hold-open` delta put it in state). */
  readonly armHold: (msgId: string) => void;
  /** A partner's message may still go where it is addressed, under the policy in force: why not, if not. */
  readonly reach: (hold: HeldMessage) => Verdict | undefined;
  readonly log: Logger;
  /** Times decisions and ledger appends when on (telemetry.ts). */
  readonly telemetry?: MeshTelemetry;
};

/** A root message's decision: the id it is recorded under, and its entry once durable. */
export type Admitted = { readonly msgId: string; readonly durable: Promise<LedgerEntry> };

/** Input refused before it became an envelope, bounded (rejected.ts): what a partition records. */
export type Rejection = ReturnType<typeof rejection>;

export function createAdmission(deps: AdmissionDeps): Admission {
  const { state, ledger, partition, clock, factory } = deps;
  const judging = createJudge(deps);
  const { judge, record } = judging;

  const telemetry = deps.telemetry ?? noTelemetry;
  /** The append's time from call to durable, when telemetry is on; else the promise as it is. */
  const timed = <T>(durable: Promise<T>, entries: number): Promise<T> => {
    if (!telemetry.on) return durable;
    const began = performance.now();
    durable.then(() => telemetry.ledgerCommit(performance.now() - began, entries), ignore);
    return durable;
  };

  /** A decision and, right after it in one atomic group, the `drift.alarm` entries it raised. */
  const withAlarms = (records: readonly LedgerRecord[]): LedgerRecord[] =>
    records.flatMap((r) => [r, ...driftAlarmRecords([r])]);

  const append = (j: Judged): Promise<LedgerEntry> => {
    const group = withAlarms([j.record]);
    const durable = timed(
      group.length === 1
        ? ledger.append(j.record, partition)
        : ledger.appendAll(group, partition).then((entries) => entries[0]!),
      group.length,
    );
    settle(deps, j, durable);
    announce([j.record], [], durable);
    return durable;
  };

  /** Breakers that opened or closed and messages held, told once durable (alarms.ts): the alerter hears them. */
  const announce = (
    records: readonly LedgerRecord[],
    deltas: readonly StateDelta[],
    durable: Promise<unknown>,
  ): void => {
    if (!raisesAlarm(deltas) && !records.some((r) => raisesAlarm(r.data.deltas as StateDelta[] | undefined)))
      return;
    // A drift alarm's own entry was appended in the same group as its decision (withAlarms).
    durable.then(
      () => {
        for (const alarm of alarmsOf(clock(), partition, records, deltas)) deps.publish(alarm);
      },
      () => {},
    );
  };

  return {
    ingest(ingress, input, taken, assigned = false) {
      const { sentBy, partner, ...message } = input;
      const origin: Origin = {
        ...(sentBy === undefined ? {} : { sentBy }),
        ...(partner === true ? { partner } : {}),
      };
      // The gate remembers outside ids for its dedupe window only; an id the ledger holds names
      // another message for good. Gated under an id of the warden's own (the gate denies it as a
      // duplicate), so the other message's lineage stays its own.
      let judged: Judged;
      if (taken && message.id !== undefined) {
        const { id: takenId, ...rest } = message;
        judged = judge(factory.root(ingress, rest), 'message', false, origin, { takenId });
      } else {
        judged = judge(
          factory.root(ingress, message),
          'message',
          message.id !== undefined && !assigned,
          origin,
        );
      }
      return { msgId: judged.msgId, durable: append(judged) };
    },
    admitAll(emitted, taken) {
      const judged = emitted.map((given) => {
        const out = taken?.has(given) === true ? takenOutgoing(given, factory.id()) : given;
        return judge(out.envelope, out.gated, out.external === true, undefined, out.facts);
      });
      const group = withAlarms(judged.map((j) => j.record));
      const durable = timed(ledger.appendAll(group, partition), group.length);
      for (const j of judged) settle(deps, j, durable);
      announce(
        judged.map((j) => j.record),
        [],
        durable,
      );
      return durable;
    },
    reject({ verdict, extra }) {
      const judged = record(clock(), factory.id(), 'message', verdict, undefined, extra);
      // Refused before the gate (no envelope to gate): counted, with no gate time.
      if (telemetry.on) {
        const { msgId, gated } = judged;
        const { digest } = deps.active.policy;
        telemetry.decision({
          msgId,
          gated,
          verdict,
          envelope: undefined,
          policyDigest: digest,
          startedAt: performance.now(),
        });
      }
      return append(judged);
    },
    release(hold, r) {
      return releaseHold(deps, judging, hold, r);
    },
    commit(records, deltas) {
      if (deltas.length === 0) return ledger.appendAll(records, partition);
      const durable = ledger.appendAll(records, partition, () => state.apply(deltas));
      // A pilot's or a failure's record may carry its deltas too: each is told once.
      const carried = records.some((r) => r.data.deltas !== undefined);
      announce(records, carried ? [] : deltas, durable);
      return durable;
    },
    decisionsOf: (ids) => ledger.firstOfEach(ids),
  };
}

/** Write-ahead: delivers or executes only once the decision entry is durable; arms hold timers then. */
function settle(
  deps: Pick<AdmissionDeps, 'work' | 'dispatch' | 'armHold'>,
  j: Judged,
  durable: Promise<unknown>,
): void {
  const { verdict, envelope } = j;
  if (verdict.decision === 'deliver' && envelope !== undefined) {
    deps.work.track(durable.then(() => deps.dispatch(envelope, j.gated, j.consumers)));
    return;
  }
  deps.work.track(durable);
  if (verdict.decision === 'hold' && envelope !== undefined) {
    durable.then(
      () => deps.armHold(j.msgId),
      () => {},
    );
  }
}

/** A failed append is told where it is awaited: the commit timing has nothing to add. */
function ignore(): void {}
