import type { Logger } from 'pino';
import { parseSource } from '../envelope/index.js';
import { partnerReach } from '../gate/index.js';
import type { LedgerReader, LedgerWriter } from '../ledger/index.js';
import { createMemoryState, type StateStore } from '../state/index.js';
import type { ActivePolicy } from './active.js';
import { type Admission, createAdmission, type Rejection, type RootMessage } from './admission.js';
import type { Outgoing } from './agent-runner.js';
import type { Delivery } from './delivery.js';
import type { Clock, EnvelopeFactory } from './envelopes.js';
import type { MeshEvent, RunCounts } from './events.js';
import { createFailureBreakers, type FailureBreakers } from './failures.js';
import { isFrozen } from './freezes.js';
import { createHolds, type Holds } from './holds.js';
import type { MeshTelemetry } from './telemetry.js';
import type { WorkTracker } from './work.js';

/**
 * One partition of a mesh: the subjects that hash to it (`partitionOf`), its state, its admission
 * (the only caller of the gate for them), its holds' timers and its failure breakers. Its records go
 * in its own hash chain. Embedded mode runs P of them in one process; distributed mode will run each
 * on the node that holds its lease, with the same parts.
 */
export type Partition = {
  readonly index: number;
  readonly state: StateStore;
  readonly admission: Admission;
  readonly holds: Holds;
  readonly failures: FailureBreakers;
};

/**
 * What travels on a partition's bus: a root message from an ingress, what one handler emitted for
 * this partition, or input refused before it became an envelope (bounded; partition 0 records it).
 * `ticket` names the promise its sender waits on; `from`, in distributed mode, the node that waits
 * (its outcome goes back as a reply, replies.ts; `batchReply`: in a batch, which that node reads,
 * where a node of an earlier version gives no such word and gets its reply alone). A root message
 * whose id the sending node gave it before it travelled (`assigned`) can be told apart from a
 * resend: its id taken means the item was delivered again after its owner recorded it (JetStream
 * redelivers what was not acked).
 */
export type PartitionItem =
  | {
      readonly kind: 'root';
      readonly ticket: number;
      readonly from?: string;
      readonly batchReply?: true;
      readonly ingress: string;
      readonly message: RootMessage;
      readonly assigned?: true;
    }
  | {
      readonly kind: 'emitted';
      readonly ticket: number;
      readonly from?: string;
      readonly batchReply?: true;
      readonly emitted: readonly Outgoing[];
    }
  | {
      readonly kind: 'rejected';
      readonly ticket: number;
      readonly from?: string;
      readonly batchReply?: true;
      readonly rejection: Rejection;
    };

/** Builds partition `index`, over a state of its own. */
export function createPartition(
  index: number,
  deps: {
    active: ActivePolicy;
    ledger: LedgerWriter & Pick<LedgerReader, 'firstOfEach'>;
    clock: Clock;
    factory: EnvelopeFactory;
    counts: RunCounts;
    work: WorkTracker;
    log: Logger;
    publish: (event: MeshEvent) => void;
    listening: () => boolean;
    dispatch: Delivery['dispatch'];
    telemetry?: MeshTelemetry;
  },
): Partition {
  const { active, clock, log } = deps;
  const state = createMemoryState({
    echoWindowMs: active.policy.guards.loop.echoWindowMs,
    dedupeWindowMs: active.policy.guards.envelope.dedupeWindowMs,
  });
  const admission = createAdmission({
    ...deps,
    state,
    partition: index,
    armHold: (msgId) => holds.arm(msgId),
    reach: (hold) =>
      partnerReach(active.policy, hold.envelope, parseSource(hold.envelope.source)?.name ?? ''),
  });
  const holds = createHolds({
    active,
    state,
    clock,
    log,
    isFrozen: (subject, now) => isFrozen(active.policy, state, subject, now),
    release: admission.release,
  });
  const failures = createFailureBreakers({ active, state, commit: admission.commit, clock, log });
  return { index, state, admission, holds, failures };
}
