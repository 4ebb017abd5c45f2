import type { Logger } from 'pino';
import type { Envelope, GatedKind, MeshwardenError } from '../envelope/index.js';
import type { Decision, Verdict } from '../gate/index.js';
import type { LedgerEntry, LedgerWriter } from '../ledger/index.js';
import type { ActivePolicy } from './active.js';
import type { Clock } from './envelopes.js';
import { runtimeError } from './errors.js';
import type { MeshEvent } from './events.js';
import { ENTRY } from './records.js';
import type { WorkTracker } from './work.js';

/**
 * A message or effect the gate held: by an approval rule (which may time out), or by the loop guard
 * or a freezing breaker (which wait for a pilot).
 */
export type HeldMessage = {
  readonly msgId: string;
  readonly envelope: Envelope;
  readonly gated: GatedKind;
  readonly verdict: Verdict;
  readonly heldAt: number;
  /** An outside caller's message (`partner` on its decision): its reach is checked again on release. */
  readonly partner?: true;
};

/** A held message as pilots see it: with its approval rule's predicate and timeout, if it has one. */
export type HoldView = HeldMessage & {
  readonly predicate?: string;
  readonly timeoutAt?: number;
  readonly onTimeout?: 'deliver' | 'deny';
};

/** Who released a hold: `timeout`, or `pilot:<name>` with the reason they gave. */
export type Release = { readonly outcome: 'deliver' | 'deny'; readonly by: string; readonly reason?: string };

export type Holds = {
  /** Remembers a hold; an approval hold gets its timer (settled at once if its time already passed). */
  track(hold: HeldMessage): void;
  /** Restarts every approval timer under the policy in force (after a reload). */
  retime(): void;
  /** Every hold nobody released yet, oldest first. */
  list(): HoldView[];
  /** Releases a hold: records it, then delivers or executes it, or drops it. */
  release(msgId: string, release: Release): Promise<LedgerEntry> | MeshwardenError;
  close(): void;
};

/**
 * The held messages of a running mesh. Approval timers are unref'd: a waiting hold never keeps a
 * finished run alive; holds that expired while no process ran are settled when the next one starts
 * (recovery tracks them again). A hold whose subject is frozen when its timeout passes is not
 * delivered: it keeps waiting for a pilot.
 */
export function createHolds(deps: {
  active: ActivePolicy;
  ledger: LedgerWriter;
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
  const open = new Map<string, HeldMessage>();
  const timers = new Map<string, NodeJS.Timeout>();
  const ruleOf = (hold: HeldMessage) =>
    hold.verdict.stage === 'approval'
      ? deps.active.policy.approvals.find((a) => a.id === hold.verdict.rule)
      : undefined;

  const release = (msgId: string, r: Release): Promise<LedgerEntry> | MeshwardenError => {
    const hold = open.get(msgId);
    if (hold === undefined) return runtimeError('MW_PILOT_NOT_HELD', { msgId });
    // Checked before anything changes: the ledger refuses text without a canonical form.
    if (r.reason !== undefined && !r.reason.isWellFormed())
      return runtimeError('MW_PILOT_BAD_TEXT', { what: 'reason' });
    open.delete(msgId);
    clearTimeout(timers.get(msgId));
    timers.delete(msgId);
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
    const durable = deps.ledger.append({
      kind: ENTRY.holdReleased,
      at: deps.clock(),
      msgId,
      subject: hold.envelope.subject,
      ...(r.by === 'timeout' ? {} : { agent: r.by }),
      data: {
        by: r.by,
        ...(consumers.length === 0 ? {} : { consumers }),
        ...(regated === undefined || regated.deltas.length === 0 ? {} : { deltas: regated.deltas }),
        outcome,
        ...(r.reason === undefined ? {} : { reason: r.reason }),
        ...(hold.verdict.rule === undefined ? {} : { rule: hold.verdict.rule }),
        ...(regated === undefined ? {} : { verdict: regated.verdict }),
      },
    });
    deps.log.info({ msgId, rule: hold.verdict.rule, outcome, by: r.by }, 'hold released');
    const released = durable.then(() => {
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
    deps.work.track(released);
    return durable;
  };

  const expire = (hold: HeldMessage, onTimeout: 'deliver' | 'deny') => {
    timers.delete(hold.msgId);
    if (onTimeout === 'deliver' && deps.isFrozen(hold.envelope.subject, deps.clock())) {
      deps.log.warn(
        { msgId: hold.msgId, subject: hold.envelope.subject },
        'hold timed out on a frozen subject; left for a pilot',
      );
      return;
    }
    release(hold.msgId, { outcome: onTimeout, by: 'timeout' });
  };

  const track = (hold: HeldMessage) => {
    open.set(hold.msgId, hold);
    const rule = ruleOf(hold);
    if (rule === undefined) return; // the loop guard, a breaker, or a rule that left the policy
    const delay = hold.heldAt + rule.timeoutMs - deps.clock();
    if (delay <= 0) {
      expire(hold, rule.onTimeout);
      return;
    }
    const timer = setTimeout(() => expire(hold, rule.onTimeout), Math.min(delay, 2 ** 31 - 1));
    timer.unref();
    timers.set(hold.msgId, timer);
  };

  return {
    track,
    list() {
      return [...open.values()].map((hold) => {
        const rule = ruleOf(hold);
        return rule === undefined
          ? hold
          : {
              ...hold,
              predicate: rule.when,
              timeoutAt: hold.heldAt + rule.timeoutMs,
              onTimeout: rule.onTimeout,
            };
      });
    },
    release,
    retime() {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      for (const hold of [...open.values()]) track(hold);
    },
    close() {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}

/** A refusal of a partner's reach, in the shape of a re-gated decision (nothing to apply). */
function unreachable(refused: Verdict | undefined): Decision | undefined {
  return refused === undefined ? undefined : { verdict: refused, deltas: [] };
}
