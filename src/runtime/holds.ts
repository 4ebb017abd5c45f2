import type { Logger } from 'pino';
import type { Envelope, GatedKind } from '../envelope/index.js';
import type { Decision, Verdict } from '../gate/index.js';
import type { LedgerWriter } from '../ledger/index.js';
import {
  type HoldState,
  holdRelease,
  holdTimeoutAt,
  type StateDelta,
  type StateStore,
} from '../state/index.js';
import type { ActivePolicy } from './active.js';
import type { Clock } from './envelopes.js';
import { runtimeError } from './errors.js';
import type { MeshEvent } from './events.js';
import type { ActionResult } from './pilot-decision.js';
import { ENTRY } from './records.js';
import type { WorkTracker } from './work.js';

/**
 * A message or effect the gate held: by an approval rule (which may time out), or by the loop guard
 * or a freezing breaker (which wait for a pilot). It is state (`StateView.holds()`), opened by the
 * `hold-open` delta of its decision and closed by the `hold-release` delta of its `hold.released`.
 */
export type HeldMessage = HoldState;

/** A held message as pilots see it: with its approval rule's predicate and timeout, if it has one. */
export type HoldView = HeldMessage & {
  readonly predicate?: string;
  readonly timeoutAt?: number;
  readonly onTimeout?: 'deliver' | 'deny';
};

/** Who released a hold: `timeout`, or `pilot:<name>` with the reason they gave. */
export type Release = { readonly outcome: 'deliver' | 'deny'; readonly by: string; readonly reason?: string };

export type Holds = {
  /** Arms an open hold's approval timer once its decision is durable (settled at once if already due). */
  arm(msgId: string): void;
  /** Arms every open hold's approval timer again under the policy in force (after recovery or a reload). */
  retime(): void;
  /** Every hold nobody released yet, oldest first, read from state. */
  list(): HoldView[];
  /** Releases a hold: records it, then delivers or executes it, or drops it. */
  release(msgId: string, release: Release): ActionResult;
  close(): void;
};

/**
 * The shell around the holds in state: only the approval timers live here. Timers are unref'd: a
 * waiting hold never keeps a finished run alive; holds that expired while no process ran are
 * settled when the next one starts (recovery replays them into state, then `retime` arms them). A
 * hold whose subject is frozen when its timeout passes is not delivered: it keeps waiting for a pilot.
 */
export function createHolds(deps: {
  active: ActivePolicy;
  ledger: LedgerWriter;
  /** The partition whose holds these are: its state, its chain. */
  partition: number;
  state: StateStore;
  clock: Clock;
  work: WorkTracker;
  log: Logger;
  isFrozen: (subject: string, now: number) => boolean;
  consumersOf: (envelope: Envelope) => readonly string[];
  dispatch: (envelope: Envelope, gated: GatedKind, consumers: readonly string[]) => void;
  publish: (event: MeshEvent) => void;
  /** Gates a released loop-guard or freeze hold again with those stops lifted; its deltas are applied. */
  regate: (hold: HeldMessage) => Decision;
  /** A partner's message may still go where it is addressed, under the policy in force: why not, if not. */
  reach: (hold: HeldMessage) => Verdict | undefined;
}): Holds {
  const { state } = deps;
  const timers = new Map<string, NodeJS.Timeout>();
  // Holds whose decision is durable (armed once it is, or by recovery): only those are listed or
  // released, so no pilot acts on a hold the ledger does not show yet. State has it from the gate on.
  const onRecord = new Set<string>();
  const ruleOf = (hold: HeldMessage) =>
    hold.verdict.stage === 'approval'
      ? deps.active.policy.approvals.find((a) => a.id === hold.verdict.rule)
      : undefined;
  const disarm = (msgId: string) => {
    clearTimeout(timers.get(msgId));
    timers.delete(msgId);
  };

  const release = (msgId: string, r: Release): ActionResult => {
    const hold = onRecord.has(msgId) ? state.hold(msgId) : undefined;
    if (hold === undefined) return runtimeError('MW_PILOT_NOT_HELD', { msgId });
    // Checked before anything changes: the ledger refuses text without a canonical form.
    if (r.reason !== undefined && !r.reason.isWellFormed())
      return runtimeError('MW_PILOT_BAD_TEXT', { what: 'reason' });
    if (!r.by.isWellFormed()) return runtimeError('MW_PILOT_BAD_TEXT', { what: 'pilot' });
    disarm(msgId);
    onRecord.delete(msgId);
    const released = holdRelease(msgId);
    state.apply([released]);
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
          ? deps.regate(hold)
          : hold.partner === true
            ? unreachable(deps.reach(hold))
            : undefined;
    const outcome = regated === undefined || regated.verdict.decision === 'deliver' ? r.outcome : 'deny';
    // Delivered under the policy in force now, which the envelope says like any admitted one.
    const envelope = regated?.envelope ?? { ...hold.envelope, policydigest: deps.active.policy.digest };
    const consumers = outcome === 'deliver' && hold.gated === 'message' ? deps.consumersOf(envelope) : [];
    // The release closes the hold in state first, then the re-gated decision's changes, as applied.
    const deltas: StateDelta[] = [released, ...(regated?.deltas ?? [])];
    const durable = deps.ledger.append(
      {
        kind: ENTRY.holdReleased,
        at: deps.clock(),
        msgId,
        subject: hold.subject,
        ...(r.by === 'timeout' ? {} : { agent: r.by }),
        data: {
          by: r.by,
          ...(consumers.length === 0 ? {} : { consumers }),
          deltas,
          outcome,
          ...(r.reason === undefined ? {} : { reason: r.reason }),
          ...(hold.verdict.rule === undefined ? {} : { rule: hold.verdict.rule }),
          ...(regated === undefined ? {} : { verdict: regated.verdict }),
        },
      },
      deps.partition,
    );
    deps.log.info({ msgId, rule: hold.verdict.rule, outcome, by: r.by }, 'hold released');
    const settled = durable.then(() => {
      const refused = outcome !== r.outcome ? regated?.verdict.reason : undefined;
      deps.publish({
        type: 'released',
        at: deps.clock(),
        msgId,
        outcome,
        by: r.by,
        ...(refused === undefined ? {} : { regateReason: refused }),
      });
      if (outcome === 'deliver') deps.dispatch(envelope, hold.gated, consumers);
    });
    deps.work.track(settled);
    return durable;
  };

  const expire = (msgId: string, onTimeout: 'deliver' | 'deny') => {
    timers.delete(msgId);
    const hold = state.hold(msgId);
    if (hold === undefined) return;
    if (onTimeout === 'deliver' && deps.isFrozen(hold.subject, deps.clock())) {
      deps.log.warn({ msgId, subject: hold.subject }, 'hold timed out on a frozen subject; left for a pilot');
      return;
    }
    release(msgId, { outcome: onTimeout, by: 'timeout' });
  };

  const arm = (msgId: string) => {
    disarm(msgId);
    const hold = state.hold(msgId);
    if (hold !== undefined) onRecord.add(msgId);
    const rule = hold === undefined ? undefined : ruleOf(hold);
    if (hold === undefined || rule === undefined) return; // the loop guard, a breaker, or a rule that left the policy
    const delay = holdTimeoutAt(hold, rule.timeoutMs) - deps.clock();
    if (delay <= 0) {
      expire(msgId, rule.onTimeout);
      return;
    }
    const timer = setTimeout(() => expire(msgId, rule.onTimeout), Math.min(delay, 2 ** 31 - 1));
    timer.unref();
    timers.set(msgId, timer);
  };

  const close = () => {
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
  };

  return {
    arm,
    list() {
      return state.holds().flatMap((hold) => {
        if (!onRecord.has(hold.msgId)) return [];
        const rule = ruleOf(hold);
        return rule === undefined
          ? [hold]
          : [
              {
                ...hold,
                predicate: rule.when,
                timeoutAt: holdTimeoutAt(hold, rule.timeoutMs),
                onTimeout: rule.onTimeout,
              },
            ];
      });
    },
    release,
    retime() {
      close();
      for (const hold of state.holds()) arm(hold.msgId);
    },
    close,
  };
}

/** A refusal of a partner's reach, in the shape of a re-gated decision (nothing to apply). */
function unreachable(refused: Verdict | undefined): Decision | undefined {
  return refused === undefined ? undefined : { verdict: refused, deltas: [] };
}
