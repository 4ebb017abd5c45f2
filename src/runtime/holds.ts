import type { Logger } from 'pino';
import type { LedgerEntry } from '../ledger/index.js';
import { type HoldState, holdTimeoutAt, type StateView } from '../state/index.js';
import type { ActivePolicy } from './active.js';
import type { Clock } from './envelopes.js';
import { runtimeError } from './errors.js';
import type { ActionResult } from './pilot-decision.js';

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
  /** Arms again, under the policy in force, the timers of the holds on record (after a reload). */
  retime(): void;
  /** Arms every hold in state, all on record (after recovery replayed them from the ledger). */
  armAll(): void;
  /** Every hold nobody released yet, oldest first, read from state. */
  list(): HoldView[];
  /** Releases a hold: records it, then delivers or executes it, or drops it. */
  release(msgId: string, release: Release): ActionResult;
  close(): void;
};

/**
 * The shell around the holds in state: only the approval timers live here, and the checks a release
 * passes before the admit path records it. Timers are unref'd: a
 * waiting hold never keeps a finished run alive; holds that expired while no process ran are
 * settled when the next one starts (recovery replays them into state, then `retime` arms them). A
 * hold whose subject is frozen when its timeout passes is not delivered: it keeps waiting for a pilot.
 */
export function createHolds(deps: {
  active: ActivePolicy;
  state: StateView;
  clock: Clock;
  log: Logger;
  isFrozen: (subject: string, now: number) => boolean;
  /** Records and settles a release the shell allowed (admission.ts, the one admit path). */
  release: (hold: HeldMessage, release: Release) => Promise<LedgerEntry>;
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
    const released = deps.release(hold, r);
    // The hold closes in state once the ledger took its release, at once: one it refused (a closed
    // ledger) is still open, and still listed for a pilot (no timer again: it would be refused too).
    if (state.hold(msgId) !== undefined) onRecord.add(msgId);
    return released;
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
      for (const msgId of [...onRecord]) arm(msgId);
    },
    armAll() {
      close();
      for (const hold of state.holds()) arm(hold.msgId);
    },
    close,
  };
}
