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
  /** Starts the timeout of a hold; a hold whose timeout already passed is released at once. */
  track(hold: HeldApproval): void;
  /** Pending holds, oldest first. */
  pending(): readonly HeldApproval[];
  close(): void;
};

/**
 * Applies each approval rule's `onTimeout` when nobody decided in time. Timers are unref'd: a
 * waiting hold never keeps a finished run alive; holds that expired while no process ran are
 * released when the next one starts (recovery tracks them again).
 */
export function createHoldTimers(deps: {
  policy: Policy;
  ledger: Ledger;
  clock: Clock;
  work: WorkTracker;
  log: Logger;
  dispatch: (envelope: Envelope, gated: GatedKind) => void;
}): HoldTimers {
  const held = new Map<string, { hold: HeldApproval; timer?: NodeJS.Timeout }>();

  const release = (hold: HeldApproval, outcome: 'deliver' | 'deny') => {
    held.delete(hold.msgId);
    const durable = deps.ledger.append({
      kind: ENTRY.holdReleased,
      at: deps.clock(),
      msgId: hold.msgId,
      subject: hold.envelope.subject,
      data: { outcome, by: 'timeout', rule: hold.rule },
    });
    deps.log.info({ msgId: hold.msgId, rule: hold.rule, outcome }, 'hold timed out');
    deps.work.track(
      outcome === 'deliver' ? durable.then(() => deps.dispatch(hold.envelope, hold.gated)) : durable,
    );
  };

  return {
    track(hold) {
      const rule = deps.policy.approvals.find((a) => a.id === hold.rule);
      if (rule === undefined) {
        // The rule is gone from the policy: the hold waits for a pilot.
        held.set(hold.msgId, { hold });
        return;
      }
      const delay = hold.heldAt + rule.timeoutMs - deps.clock();
      if (delay <= 0) {
        release(hold, rule.onTimeout);
        return;
      }
      const timer = setTimeout(() => release(hold, rule.onTimeout), Math.min(delay, 2 ** 31 - 1));
      timer.unref();
      held.set(hold.msgId, { hold, timer });
    },
    pending: () => [...held.values()].map((h) => h.hold),
    close() {
      for (const h of held.values()) clearTimeout(h.timer);
    },
  };
}
