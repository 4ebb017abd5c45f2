import { type Envelope, parseSource } from '../envelope/index.js';
import { type Decision, decide, partnerReach, type Verdict } from '../gate/index.js';
import type { LedgerEntry } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import {
  createMemoryState,
  holdRelease,
  holdTimeoutAt,
  type StateDelta,
  type StateStore,
} from '../state/index.js';
import { jsonText } from './candidate-text.js';
import { countFailure } from './failures.js';
import { isFrozen } from './freezes.js';
import { decidePilotAction, type PilotAction } from './pilot-decision.js';
import { type DecisionData, ENTRY } from './records.js';
import { emptyFold, noteOpenings, type ReplayFold } from './replay-fold.js';
import { replayInput } from './replay-input.js';
import type { ReplayChange } from './replay-report.js';
import { admits, releaseView, sameVerdict, type TimeoutSide, verdictView } from './replay-report.js';
import { createVersionAdoption } from './replay-versions.js';
import { stateWindows } from './snapshot-codec.js';

// The replay's core: folds recorded entries, in ledger order, into a fresh state under the candidate
// policy. Every decision is decided again with its recorded inputs and time; pilot inputs (releases,
// freezes, resets) and failures are applied at their recorded times; approval timeouts fire where the
// candidate's rules say. What the candidate cut off is not decided again (the cascade). No I/O.

type Outcome = 'deliver' | 'deny' | 'hold' | 'quarantine';

/** A pending approval timeout under the candidate. */
type Timer = {
  readonly msgId: string;
  readonly partition: number;
  readonly at: number;
  readonly onTimeout: 'deliver' | 'deny';
  readonly rule: string;
  readonly timeoutMs: number;
};

export type ReplayEngine = {
  /** Folds the next entry (ledger order across partitions). */
  apply(entry: LedgerEntry): void;
  /** Fires the timeouts due by `now` (the end of the replay). */
  settle(now: number): void;
  readonly fold: ReplayFold;
};

/**
 * Node's timers may fire a millisecond early, and under load any number late: a recorded timeout
 * this close after the candidate's is taken as the same timer.
 */
const TIMER_SLACK_MS = 2;

/**
 * A replay engine over `candidate`. `recordedTimeouts`: each message a timeout released in the
 * recording, and when: such a timeout fires where the recording put it, when the candidate's is due
 * by then, so replaying with the recorded policy keeps the recorded order. `recordedTimers`: the
 * candidate is a policy the traffic was recorded under, so its approval timers are the recording's:
 * a hold times out where (and only where) the recording timed it out. A timer that found its subject
 * frozen left the hold, unrecorded, at a moment the ledger does not keep.
 */
export function createReplayEngine(
  candidate: Policy,
  recordedTimeouts: ReadonlyMap<string, number>,
  recordedTimers = false,
): ReplayEngine {
  const states = new Map<number, StateStore>();
  const stateOf = (p: number): StateStore => {
    let s = states.get(p);
    if (s === undefined) {
      s = createMemoryState(stateWindows(candidate));
      states.set(p, s);
    }
    return s;
  };
  const fold = emptyFold();
  const versions = createVersionAdoption(candidate);
  fold.versionsAdopted = versions.adopted;
  /** Messages decided in the replay: delivered under the candidate (with its envelope), or not. */
  const delivered = new Map<string, Envelope>();
  const decided = new Set<string>();
  /** Recorded envelopes of held messages (a release delivers them in the recording). */
  const recordedHeld = new Map<string, { envelope: Envelope; gated: string; at: number; rule?: string }>();
  /** The change whose cut a refused message stands for (itself), for counting what it suppressed. */
  const changeOf = new Map<string, ReplayChange & { suppressed: number }>();
  let timers: Timer[] = [];

  const opened = (side: 'recorded' | 'candidate', deltas: readonly StateDelta[] | undefined, at: number) =>
    noteOpenings(fold, side, deltas, at);
  const apply = (partition: number, deltas: readonly StateDelta[], at: number) => {
    stateOf(partition).apply(deltas);
    opened('candidate', deltas, at);
  };
  const arm = (partition: number, d: Decision) => {
    if (d.verdict.decision !== 'hold' || d.verdict.stage !== 'approval' || d.envelope === undefined) return;
    const rule = candidate.approvals.find((a) => a.id === d.verdict.rule);
    const hold = stateOf(partition).hold(d.envelope.id);
    if (rule === undefined || hold === undefined) return;
    const due = holdTimeoutAt(hold, rule.timeoutMs);
    const recordedAt = recordedTimeouts.get(hold.msgId);
    // Fired by the recorded timeout entry when due by then; else at its own time.
    if (recordedTimers || (recordedAt !== undefined && due <= recordedAt + TIMER_SLACK_MS)) return;
    // Kept in time order (ties in the order armed): the first past the ones due no later.
    let i = timers.length;
    while (i > 0 && timers[i - 1]!.at > due) i--;
    const t = { msgId: hold.msgId, partition, at: due, onTimeout: rule.onTimeout, rule: rule.id };
    timers.splice(i, 0, { ...t, timeoutMs: rule.timeoutMs });
  };

  /** Releases a candidate hold as the runtime does (hold-release.ts); returns its outcome, if it was held. */
  const release = (
    partition: number,
    msgId: string,
    outcome: 'deliver' | 'deny',
    at: number,
    byTimeout: boolean,
  ) => {
    const state = stateOf(partition);
    const hold = state.hold(msgId);
    if (hold === undefined) return undefined;
    if (byTimeout && outcome === 'deliver' && isFrozen(candidate, state, hold.subject, at)) return undefined;
    let regated: Decision | undefined;
    if (outcome === 'deliver' && hold.verdict.stage !== 'approval') {
      const text = jsonText(hold.envelope);
      regated = decide(
        {
          candidate: hold.envelope,
          size: typeof text === 'string' ? Buffer.byteLength(text) : 0,
          kind: hold.gated,
          now: at,
          external: false,
          release: true,
          ...(hold.partner === true ? { partner: true } : {}),
        },
        versions.policyFor(hold.envelope, hold.verdict.reason),
        state,
      );
    } else if (outcome === 'deliver' && hold.partner === true) {
      // A partner's approval hold is not gated again; its reach is checked again (hold-release.ts).
      const refused = partnerReach(candidate, hold.envelope, parseSource(hold.envelope.source)?.name ?? '');
      if (refused !== undefined) regated = { verdict: refused, deltas: [] };
    }
    apply(partition, [holdRelease(msgId), ...(regated?.deltas ?? [])], at);
    const final = regated === undefined || regated.verdict.decision === 'deliver' ? outcome : 'deny';
    if (final === 'deliver') {
      const env = regated?.envelope ?? hold.envelope;
      delivered.set(msgId, env);
      if (hold.gated === 'effect') fold.candidateEffects.set(msgId, env);
    }
    return { final, verdict: regated?.verdict, hold };
  };

  type Released = NonNullable<ReturnType<typeof release>>;
  /** Holds the candidate's own timer released before the recording did, compared when it does. */
  const firedEarly = new Map<string, { done: Released; side: TimeoutSide }>();
  const fireDue = (now: number) => {
    while (timers.length > 0 && timers[0]!.at <= now) {
      const t = timers.shift()!;
      const done = release(t.partition, t.msgId, t.onTimeout, t.at, true);
      const side = { rule: t.rule, afterMs: t.timeoutMs, onTimeout: t.onTimeout };
      if (done !== undefined) firedEarly.set(t.msgId, { done, side });
    }
  };
  /** A release whose outcome the candidate changes, as a change. */
  const releaseChange = (
    at: number,
    data: { by?: string; outcome?: Outcome; verdict?: Verdict },
    done: Released,
    sides: { recorded?: TimeoutSide; candidate?: TimeoutSide; candidateBy?: string },
  ) => {
    const recordedOutcome = data.outcome ?? 'deny';
    if (done.final === recordedOutcome) return;
    const h = done.hold;
    const change: ReplayChange & { suppressed: number } = {
      id: h.msgId,
      type: h.envelope.type,
      subject: h.subject,
      kind: 'release',
      gated: h.gated,
      at,
      recorded: releaseView(recordedOutcome, data.verdict, data.by, sides.recorded),
      candidate: releaseView(done.final, done.verdict, sides.candidateBy ?? data.by, sides.candidate),
      suppressed: 0,
    };
    fold.changes.push(change);
    changeOf.set(h.msgId, change);
  };

  /** Whether a recorded message's cause was cut off under the candidate: it would not have happened. */
  const cutCause = (causation: string | undefined): string | undefined => {
    if (causation === undefined || !decided.has(causation) || delivered.has(causation)) return undefined;
    return fold.cutBy.get(causation) ?? causation;
  };

  const onDecision = (entry: LedgerEntry, msgId: string) => {
    const data = entry.data as unknown as DecisionData;
    const recorded = data.verdict;
    if (recorded === undefined) return;
    const env = data.envelope;
    if (data.gated === 'effect' && recorded.decision === 'deliver' && env !== undefined)
      fold.recordedEffects.set(msgId, env);
    if (recorded.decision === 'hold' && env !== undefined)
      recordedHeld.set(msgId, {
        envelope: env,
        gated: data.gated,
        at: entry.at,
        ...(recorded.rule === undefined ? {} : { rule: recorded.rule }),
      });
    opened('recorded', data.deltas, entry.at);
    const cut = cutCause(entry.causationId ?? env?.causationid);
    decided.add(msgId);
    if (cut !== undefined) {
      fold.suppressed.push(msgId);
      fold.wouldNotHappen.push({
        id: msgId,
        type: env?.type ?? '',
        subject: env?.subject ?? entry.subject ?? '',
        gated: data.gated,
        at: entry.at,
      });
      fold.cutBy.set(msgId, cut);
      const c = changeOf.get(cut);
      if (c !== undefined) c.suppressed++;
      return;
    }
    const input = replayInput(data, entry.at);
    let verdict: Verdict = recorded;
    let decision: Decision | undefined;
    if (input.kind === 'kept') {
      if (input.why === 'runtime-fact') fold.kept.runtimeFacts++;
      else fold.kept.noEnvelope++;
    } else {
      decision = decide(
        input.input,
        versions.policyFor(input.input.candidate, recorded.reason),
        stateOf(entry.partition),
      );
      apply(entry.partition, decision.deltas, entry.at);
      arm(entry.partition, decision);
      verdict = decision.verdict;
    }
    fold.decisions++;
    const key = `${recorded.decision}→${verdict.decision}`;
    fold.matrix.set(key, (fold.matrix.get(key) ?? 0) + 1);
    if (verdict.decision === 'deliver') {
      const out = decision?.envelope ?? env;
      if (out !== undefined) {
        delivered.set(msgId, out);
        if (data.gated === 'effect') fold.candidateEffects.set(msgId, out);
      }
    }
    if (!sameVerdict(recorded, verdict)) {
      const change: ReplayChange & { suppressed: number } = {
        id: msgId,
        type: env?.type ?? decision?.envelope?.type ?? '',
        subject: env?.subject ?? entry.subject ?? '',
        kind: 'decision',
        gated: data.gated,
        at: entry.at,
        recorded: verdictView(recorded),
        candidate: verdictView(verdict),
        ...(admits(verdict.decision) && !admits(recorded.decision) ? { followUnknown: true as const } : {}),
        suppressed: 0,
      };
      fold.changes.push(change);
      changeOf.set(msgId, change);
    }
  };

  const onRelease = (entry: LedgerEntry, msgId: string) => {
    const data = entry.data as { by?: string; outcome?: Outcome; verdict?: Verdict; deltas?: StateDelta[] };
    opened('recorded', data.deltas, entry.at);
    const held = recordedHeld.get(msgId);
    if (data.outcome === 'deliver' && held?.gated === 'effect')
      fold.recordedEffects.set(msgId, held.envelope);
    if (!decided.has(msgId) || fold.cutBy.has(msgId)) return;
    const early = firedEarly.get(msgId);
    if (early !== undefined) {
      // The candidate's own (sooner) timer released it: its outcome against the recording's.
      firedEarly.delete(msgId);
      const recorded =
        held?.rule === undefined
          ? undefined
          : { rule: held.rule, afterMs: entry.at - held.at, onTimeout: data.outcome ?? 'deny' };
      releaseChange(entry.at, data, early.done, {
        ...(recorded === undefined ? {} : { recorded }),
        candidate: early.side,
        candidateBy: 'timeout',
      });
      return;
    }
    const byTimeout = data.by === 'timeout';
    let intent: 'deliver' | 'deny';
    let timedOut: { recorded: TimeoutSide; candidate: TimeoutSide } | undefined;
    if (byTimeout) {
      const state = stateOf(entry.partition);
      const hold = state.hold(msgId);
      const rule =
        hold === undefined ? undefined : candidate.approvals.find((a) => a.id === hold.verdict.rule);
      if (hold === undefined || hold.verdict.stage !== 'approval' || rule === undefined) return;
      // The candidate's own timer, armed to fire here, or later (then it waits in `timers`).
      if (!recordedTimers && holdTimeoutAt(hold, rule.timeoutMs) > entry.at + TIMER_SLACK_MS) return;
      intent = rule.onTimeout;
      // Each side's approval rule, how long its hold waited, and its onTimeout (what the recording did).
      timedOut = {
        recorded: {
          rule: held?.rule ?? rule.id,
          afterMs: entry.at - (held?.at ?? hold.heldAt),
          onTimeout: data.outcome ?? 'deny',
        },
        candidate: { rule: rule.id, afterMs: rule.timeoutMs, onTimeout: rule.onTimeout },
      };
    } else {
      // A pilot's approval the re-gate refused is still an approval.
      intent =
        data.outcome === 'deliver' || (data.verdict !== undefined && data.verdict.decision !== 'deliver')
          ? 'deliver'
          : 'deny';
    }
    fold.pilot.replayed++;
    const done = release(entry.partition, msgId, intent, entry.at, byTimeout);
    if (done === undefined) {
      fold.pilot.moot++;
      return;
    }
    timers = timers.filter((t) => t.msgId !== msgId);
    releaseChange(entry.at, data, done, timedOut ?? {});
  };

  const onPilot = (entry: LedgerEntry) => {
    const data = entry.data as { action?: string; breaker?: string; reason?: string; deltas?: StateDelta[] };
    const pilot =
      entry.agent?.startsWith('pilot:') === true ? entry.agent.slice(6) : (entry.agent ?? 'pilot');
    const act = { pilot, reason: data.reason ?? '' };
    const subject = entry.subject ?? '';
    let action: PilotAction | undefined;
    if (data.action === 'freeze' || data.action === 'unfreeze')
      action = { action: data.action, subject, act };
    else if (data.action === 'reset' && data.breaker !== undefined)
      action = { action: 'reset', breaker: data.breaker, key: subject, act };
    if (action === undefined) return;
    fold.pilot.replayed++;
    const d = decidePilotAction(action, stateOf(entry.partition), candidate, entry.at);
    if ('code' in d || d.kind !== 'record') {
      fold.pilot.moot++;
      return;
    }
    apply(entry.partition, d.deltas, entry.at);
  };

  const onFailure = (entry: LedgerEntry, msgId: string) => {
    opened('recorded', (entry.data as { deltas?: StateDelta[] }).deltas, entry.at);
    const env = delivered.get(msgId);
    if (env === undefined || fold.cutBy.has(msgId) || entry.agent === undefined) return;
    const kind = entry.kind === ENTRY.deadLetter ? ENTRY.deadLetter : ENTRY.deliveryFailed;
    const counted = countFailure(candidate, stateOf(entry.partition), kind, env, entry.agent, entry.at);
    apply(entry.partition, counted.deltas, entry.at);
  };

  return {
    fold,
    settle: fireDue,
    apply(entry) {
      fireDue(entry.at);
      const id = entry.msgId;
      switch (entry.kind) {
        case ENTRY.decision:
          if (id !== undefined) onDecision(entry, id);
          return;
        case ENTRY.holdReleased:
          if (id !== undefined) onRelease(entry, id);
          return;
        case ENTRY.pilotAction:
          onPilot(entry);
          return;
        case ENTRY.deliveryFailed:
        case ENTRY.deadLetter:
          if (id !== undefined) onFailure(entry, id);
          return;
        case ENTRY.delivered:
        case ENTRY.effectExecuted: {
          // An executor's reply token is state (echo links); only for what the candidate delivered.
          const deltas = (entry.data as { deltas?: StateDelta[] }).deltas;
          if (deltas !== undefined && id !== undefined && delivered.has(id))
            apply(entry.partition, deltas, entry.at);
          return;
        }
      }
    },
  };
}
