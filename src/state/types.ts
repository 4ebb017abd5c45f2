import type { Envelope, GatedKind } from '../envelope/index.js';
import type { DriftSample, DriftState, DriftStateJson } from './drift-monitor.js';

/** A GCRA token bucket keeps one number: the theoretical arrival time of the next request. */
export type BucketState = { readonly tat: number };

/**
 * A sliding window of sums in `WINDOW_SLOTS` equal slots. `start` is the index (time / slotMs) of
 * `slots[0]`. An event counts for between one window and one window plus one slot.
 */
export type WindowState = {
  readonly slotMs: number;
  readonly start: number;
  readonly slots: readonly number[];
};

export type BreakerAction = 'freeze' | 'deny';

/** An open breaker. A closed breaker has no state at all (it is evicted). */
export type BreakerState = {
  readonly state: 'open';
  readonly action: BreakerAction;
  readonly openedAt: number;
  /** Absolute time at which it closes by itself, if the rule has a cooldown. */
  readonly closesAt?: number;
  /** The rule or actor that opened it: a breaker rule id, `loop`, or `pilot:<name>`. */
  readonly by: string;
};

/**
 * An effect the mesh admitted, remembered per subject so that a message coming back through an
 * ingress can be linked to it: by its text (fingerprints), by a `causationid` naming the effect, or
 * by the reply token its executor returned. Every admitted effect leaves one, text or not.
 */
export type EchoMark = {
  /** Fingerprints of its long enough strings (echo.ts); empty when it said nothing long. */
  readonly fingerprints: readonly string[];
  readonly effectId: string;
  /** The effect's type (`credit.issue`); absent in marks recorded before it was kept. */
  readonly effect?: string;
  readonly correlationid: string;
  readonly hop: number;
  /** The ancestry a message caused by the effect would carry (the effect's ancestry plus its own hop). */
  readonly ancestry: string;
  /** When the effect was admitted: the echo window counts from here. */
  readonly at: number;
  /** The token its executor returned (`ctx.replyToken`), once it executed. */
  readonly replyToken?: string;
};

/**
 * The verdict a hold was opened with: the gate's `Verdict` (which state cannot import), members in
 * canonical order.
 */
export type HoldVerdict = {
  readonly decision: string;
  readonly detail: string;
  readonly issues?: readonly {
    readonly pointer: string;
    readonly message: string;
    readonly keyword?: string;
  }[];
  readonly reason: string;
  readonly rule?: string;
  readonly stage: string;
};

/**
 * A message or effect request the gate held: by an approval rule (which may time out), or by the
 * loop guard or a freezing breaker (which wait for a pilot). Owned by its subject's partition; open
 * until a `hold-release` delta. Members in canonical order (it is written to the ledger whole).
 */
export type HoldState = {
  readonly envelope: Envelope;
  readonly gated: GatedKind;
  readonly heldAt: number;
  readonly msgId: string;
  /** An outside caller's message (`partner` on its decision): its reach is checked again on release. */
  readonly partner?: true;
  readonly subject: string;
  readonly verdict: HoldVerdict;
};

/**
 * A drift monitor's alarm (docs/drift.md): what crossed, against what. Carried by the `drift-alarm`
 * delta of the decision that raised it, and written as the `drift.alarm` ledger entry. Members in
 * canonical order.
 */
export type DriftAlarm = {
  /** What the monitor does: `alert`, or the breaker it opens (`freeze`, `deny`). */
  readonly action: 'alert' | 'freeze' | 'deny';
  /** `name@version` of the agent. */
  readonly agent: string;
  readonly at: number;
  /** The baseline: a version, or `window:<ms>` for a trailing window. */
  readonly baseline: string;
  readonly baselineCount: number;
  readonly baselineMean?: number;
  /** The version watched. */
  readonly current: string;
  readonly currentCount: number;
  readonly currentMean?: number;
  readonly field: string;
  readonly metric: string;
  readonly monitor: string;
  readonly score: number;
  readonly threshold: number;
  readonly type: string;
};

/** Read-only view of the state the gate decides on. Keys are built by the gate (see state/keys.ts). */
export type StateView = {
  bucket(key: string): BucketState | undefined;
  window(key: string): WindowState | undefined;
  breaker(key: string): BreakerState | undefined;
  echoes(subject: string): readonly EchoMark[];
  /** When an externally supplied envelope id was seen, if it was. */
  seen(id: string): number | undefined;
  /** An open hold, by the held message's id. */
  hold(msgId: string): HoldState | undefined;
  /** Every open hold, in the order they were opened (ledger order on replay). */
  holds(): readonly HoldState[];
  /** A drift monitor's sketches and raised alarms (read only: the store changes it). */
  drift(monitor: string, digest?: string): DriftState | undefined;
};

/** A state change. Deltas carry absolute new values, so replaying them in ledger order rebuilds state. */
export type StateDelta =
  | { readonly kind: 'bucket'; readonly key: string; readonly state: BucketState }
  | { readonly kind: 'window'; readonly key: string; readonly state: WindowState }
  | { readonly kind: 'breaker-open'; readonly key: string; readonly state: BreakerState }
  | { readonly kind: 'breaker-close'; readonly key: string }
  | { readonly kind: 'echo'; readonly subject: string; readonly mark: EchoMark }
  /** An executed effect's reply token, set on its mark (a no-op once the mark has expired). */
  | {
      readonly kind: 'reply-token';
      readonly subject: string;
      readonly effectId: string;
      readonly token: string;
    }
  | { readonly kind: 'seen'; readonly id: string; readonly at: number }
  /** The gate held a message: carried by its decision entry. */
  | { readonly hold: HoldState; readonly kind: 'hold-open' }
  /** A hold was settled (a pilot, or its approval timeout): carried by the `hold.released` entry. */
  | { readonly kind: 'hold-release'; readonly msgId: string }
  /** An admitted emission's values for a drift monitor: added to its sketches (incremental). */
  | { readonly kind: 'drift-sample'; readonly sample: DriftSample }
  /** A drift monitor crossed its threshold for a version: remembered until a pilot resets it. */
  | { readonly alarm: DriftAlarm; readonly kind: 'drift-alarm' }
  /** Written by earlier gates when a score fell back under the threshold (no longer made): applied on recovery. */
  | { readonly kind: 'drift-clear'; readonly monitor: string; readonly version: string }
  /** A pilot reset the monitor's breaker: alarms cleared, current windows emptied. */
  | { readonly kind: 'drift-reset'; readonly monitor: string }
  /** A drift monitor's whole state: what snapshots carry (absolute). */
  | { readonly kind: 'drift-state'; readonly monitor: string; readonly state: DriftStateJson };
