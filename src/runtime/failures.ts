import type { Logger } from 'pino';
import type { Envelope, MeshwardenError } from '../envelope/index.js';
import { scopeKeyFor } from '../gate/index.js';
import type { LedgerEntry, LedgerRecord } from '../ledger/index.js';
import { type BreakerRule, overShare, type Policy, sharesOf } from '../policy/index.js';
import {
  breakerCountKey,
  countTowardBreaker,
  parseBreakerCountKey,
  type StateDelta,
  type StateView,
  windowIsNeutral,
} from '../state/index.js';
import type { ActivePolicy } from './active.js';
import type { Admission } from './admission.js';
import type { Clock } from './envelopes.js';
import { type BreakerOpening, breakerOpenedRecord, ENTRY, failureRecord } from './records.js';

export type FailureKind = typeof ENTRY.deliveryFailed | typeof ENTRY.deadLetter;

/** `deployer@1.2.0` → `deployer`; `effect:deploy.run` and an unversioned name stay as they are. */
export function workerName(worker: string): string {
  const at = worker.lastIndexOf('@');
  return at < 0 ? worker : worker.slice(0, at);
}

/** The failure breakers that count a failure of `kind` by `worker`. */
function rulesFor(policy: Policy, kind: FailureKind, worker: string): BreakerRule[] {
  const name = workerName(worker);
  return policy.breakers.filter(
    (r) =>
      r.failures !== undefined &&
      r.failures.worker === name &&
      (r.failures.kind === 'failures' || kind === ENTRY.deadLetter),
  );
}

export type FailureCount = {
  readonly deltas: readonly StateDelta[];
  readonly opened: readonly {
    readonly rule: BreakerRule;
    readonly key: string;
    readonly count: number;
    /** The rule's `over`, or this partition's share of it (agent-, edge- and mesh-scoped rules). */
    readonly over: number;
  }[];
};

/**
 * Counts one failed try (`delivery.failed`) or dead letter into every failure breaker that watches
 * its worker, at the failed message's own scope key. A `failures` breaker counts both kinds (every
 * failed try; a dead letter is the last one), a `deadLetters` breaker dead letters only. Like the
 * gate's count breakers, an agent-, edge- or mesh-scoped one trips past its partition's share. Pure.
 */
export function countFailure(
  policy: Policy,
  state: StateView,
  kind: FailureKind,
  msg: Envelope,
  worker: string,
  now: number,
): FailureCount {
  const deltas: StateDelta[] = [];
  const opened: { rule: BreakerRule; key: string; count: number; over: number }[] = [];
  for (const rule of rulesFor(policy, kind, worker)) {
    const key = scopeKeyFor(msg, rule.scope);
    const over = overShare(rule.over, sharesOf(policy, rule.scope));
    const counted = countTowardBreaker(state, over === rule.over ? rule : { ...rule, over }, key, now);
    deltas.push(...counted.deltas);
    if (counted.opened) opened.push({ rule, key, count: counted.count, over });
  }
  return { deltas, opened };
}

export type FailureBreakers = {
  /**
   * Records a failed try or dead letter: counts it into the failure breakers (state math in state/),
   * applies the deltas, and appends the failure with them, plus a `breaker.opened` entry for each
   * breaker it opened, in one transaction. Resolves when durable.
   */
  record(
    kind: FailureKind,
    msg: Envelope,
    worker: string,
    attempt: number,
    error: MeshwardenError,
  ): Promise<unknown>;
  /** Recovery: a failure entry read back from the ledger, whose deltas were applied. */
  remember(entry: LedgerEntry, deltas: readonly StateDelta[]): void;
  /**
   * Recovery of one partition (recovery-fold.ts): one failure of message `msgId` at `at`, counted at
   * breaker count key `key`; recalled oldest first, as `remember` would have seen them.
   */
  recall(key: string, msgId: string, at: number): void;
  /** Forgets the failures of counts that are back to zero. */
  evict(now: number): void;
};

/**
 * The shell around countFailure. It remembers the ids of the latest failures per breaker count (as
 * many as the breaker allows plus one), so that the `breaker.opened` entry names the failures that
 * opened it; recovery rebuilds that memory from the failure entries' deltas.
 */
export function createFailureBreakers(deps: {
  active: ActivePolicy;
  /** The state of the partition whose failures these are (their messages' subjects). */
  state: StateView;
  /** Applies the deltas and appends the records in that partition's chain (admission.ts). */
  commit: Admission['commit'];
  clock: Clock;
  log: Logger;
}): FailureBreakers {
  const { active, state, clock, log } = deps;
  const recent = new Map<string, { msgId: string; at: number }[]>();

  const note = (countKey: string, over: number, msgId: string, at: number) => {
    const list = recent.get(countKey) ?? [];
    list.push({ msgId, at });
    // A breaker with a large `over` names its latest 100 failures, not all of them.
    if (list.length > Math.min(over + 1, 100)) list.shift();
    recent.set(countKey, list);
  };

  /** Notes a failure at a breaker count key, if a breaker of the policy in force counts there. */
  const noteAt = (key: string, msgId: string, at: number) => {
    const parsed = parseBreakerCountKey(key);
    if (parsed === undefined) return;
    const rule = active.policy.breakers.find((b) => b.id === parsed.id);
    if (rule !== undefined) note(key, rule.over, msgId, at);
  };

  const noteAll = (deltas: readonly StateDelta[], msgId: string, at: number) => {
    for (const d of deltas) if (d.kind === 'window') noteAt(d.key, msgId, at);
  };

  return {
    record(kind, msg, worker, attempt, error) {
      const now = clock();
      const { deltas, opened } = countFailure(active.policy, state, kind, msg, worker, now);
      const failure = failureRecord(kind, now, msg, worker, attempt, error, deltas);
      if (deltas.length === 0) return deps.commit([failure], deltas);
      noteAll(deltas, msg.id, now);
      const records: LedgerRecord[] = [failure];
      for (const { rule, key, count, over } of opened) {
        const failures = (recent.get(breakerCountKey(rule.id, key)) ?? []).slice(-count).map((f) => f.msgId);
        const opening: BreakerOpening = {
          breaker: rule.id,
          key,
          scope: rule.scope,
          action: rule.action,
          counted: rule.failures?.kind ?? 'failures',
          of: rule.failures?.worker ?? workerName(worker),
          count,
          over,
          windowMs: rule.windowMs,
          failures,
        };
        log.warn({ breaker: rule.id, key, count, msgId: msg.id }, 'breaker opened by failures');
        records.push(breakerOpenedRecord(now, msg, opening));
      }
      return deps.commit(records, deltas);
    },
    remember(entry, deltas) {
      if (entry.msgId !== undefined) noteAll(deltas, entry.msgId, entry.at);
    },
    recall: noteAt,
    evict(now) {
      for (const key of recent.keys()) {
        if (windowIsNeutral(state.window(key), now)) recent.delete(key);
      }
    },
  };
}
