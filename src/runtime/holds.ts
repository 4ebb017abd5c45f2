import type { Logger } from 'pino';
import type { Envelope, GatedKind } from '../envelope/index.js';
import type { Ledger } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import type { Clock } from './envelopes.js';
import { ENTRY } from './records.js';
import type { WorkTracker } from './work.js';

/** A message or effect held by an approval rule, waiting for a pilot or its timeout. */
export type HeldApproval = {
  readonly msgId: string;
  readonly envelope: Envelope;
  readonly gated: GatedKind;
  readonly rule: string;
  readonly heldAt: number;
};

export type HoldTimers = {
  /** Starts the timeout of a hold; a hold whose timeout already passed is settled at once. */
  track(hold: HeldApproval): void;
  close(): void;
};

/**
 * Applies each approval rule's `onTimeout` when nobody decided in time. Timers are unref'd: a
 * waiting hold never keeps a finished run alive; holds that expired while no process ran are
 * settled when the next one starts (recovery tracks them again). A hold whose subject is frozen
 * when its timeout passes is not delivered: it keeps waiting for a pilot.
 */
export function createHoldTimers(deps: {
  policy: Policy;
  ledger: Ledger;
  clock: Clock;
  work: WorkTracker;
  log: Logger;
  isFrozen: (subject: string, now: number) => boolean;
  consumersOf: (envelope: Envelope) => readonly string[];
  dispatch: (envelope: Envelope, gated: GatedKind, consumers: readonly string[]) => void;
}): HoldTimers {
  const timers = new Map<string, NodeJS.Timeout>();

  const settle = (hold: HeldApproval, onTimeout: 'deliver' | 'deny') => {
    timers.delete(hold.msgId);
    const now = deps.clock();
    if (onTimeout === 'deliver' && deps.isFrozen(hold.envelope.subject, now)) {
      deps.log.warn(
        { msgId: hold.msgId, subject: hold.envelope.subject },
        'hold timed out on a frozen subject; left for a pilot',
      );
      return;
    }
    // Delivered under the policy in force now, which the envelope says like any admitted one.
    const envelope = { ...hold.envelope, policydigest: deps.policy.digest };
    const consumers = onTimeout === 'deliver' && hold.gated === 'message' ? deps.consumersOf(envelope) : [];
    const durable = deps.ledger.append({
      kind: ENTRY.holdReleased,
      at: now,
      msgId: hold.msgId,
      subject: hold.envelope.subject,
      data: {
        outcome: onTimeout,
        by: 'timeout',
        rule: hold.rule,
        ...(consumers.length === 0 ? {} : { consumers }),
      },
    });
    deps.log.info({ msgId: hold.msgId, rule: hold.rule, outcome: onTimeout }, 'hold timed out');
    deps.work.track(
      onTimeout === 'deliver' ? durable.then(() => deps.dispatch(envelope, hold.gated, consumers)) : durable,
    );
  };

  return {
    track(hold) {
      const rule = deps.policy.approvals.find((a) => a.id === hold.rule);
      if (rule === undefined) return; // the rule left the policy: the hold waits for a pilot
      const delay = hold.heldAt + rule.timeoutMs - deps.clock();
      if (delay <= 0) {
        settle(hold, rule.onTimeout);
        return;
      }
      const timer = setTimeout(() => settle(hold, rule.onTimeout), Math.min(delay, 2 ** 31 - 1));
      timer.unref();
      timers.set(hold.msgId, timer);
    },
    close() {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
