import type { GatedKind } from '../envelope/index.js';
import { type Decision, decide, type Verdict } from '../gate/index.js';
import type { LedgerEntry } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import { createMemoryState, type StateDelta, type StateStore } from '../state/index.js';
import { countFailure } from './failures.js';
import { decidePilotAction, type PilotAction } from './pilot-decision.js';
import { type DecisionData, ENTRY } from './records.js';
import { createCascade } from './replay-cascade.js';
import { createEffectTally } from './replay-effects.js';
import { emptyFold, REPLAY_LIMIT, type ReplayFold } from './replay-fold.js';
import { replayInput } from './replay-input.js';
import { noteOpenings } from './replay-openings.js';
import { createReleases, type Released } from './replay-release.js';
import type { ReplayChange, VerdictView } from './replay-report.js';
import { admits, releaseView, sameVerdict, verdictView } from './replay-report.js';
import { createVersionAdoption } from './replay-versions.js';
import { createFailureWatch } from './replay-watch.js';
import { stateWindows } from './snapshot-codec.js';

// The replay's core: folds recorded entries, in ledger order, into a fresh state under the candidate
// policy. Every decision is decided again with its recorded inputs and time; pilot inputs (releases,
// freezes, resets) and failures are applied at their recorded times; approval timeouts fire where the
// candidate's rules say. What the candidate cut off is not decided again (replay-cascade.ts). No I/O.
// Keeps no more per message than the cascade's ids, and what is still held or in flight.

type Outcome = 'deliver' | 'deny' | 'hold' | 'quarantine';

export type ReplayEngine = {
  /** Folds the next entry (ledger order across partitions). */
  apply(entry: LedgerEntry): void;
  /** A `policy.loaded` or `partition.owned` entry, in ledger order (also before the window). */
  policyInForce(entry: LedgerEntry): void;
  /** Fires the timeouts due by `now` (the end of the replay), and settles what is still held. */
  settle(now: number): void;
  readonly fold: ReplayFold;
  /** How many entries each structure keeps (tests: memory does not grow with the ledger). */
  readonly sizes: () => Record<string, number>;
};

/**
 * Node's timers may fire a millisecond early, and under load any number late: a recorded timeout
 * this close after the candidate's is taken as the same timer.
 */
const TIMER_SLACK_MS = 2;

/** The recording still held it at the end of the replay. */
const STILL_HELD: VerdictView = {
  verdict: 'hold',
  stage: 'release',
  reason: 'release.none',
  detail: 'Still held at the end of the replay.',
};

/**
 * A replay engine over `candidate`. `recordedTimeouts`: each message a timeout released in the
 * recording, and when: such a timeout fires where the recording put it, when the candidate's is due
 * by then, so replaying with the recorded policy keeps the recorded order. While the policy in force
 * in the recording (`policy.loaded`, `partition.owned`) is the candidate, its approval timers are the
 * recording's: a hold times out where (and only where) the recording timed it out. A timer that found
 * its subject frozen left the hold, unrecorded, at a moment the ledger does not keep.
 */
export function createReplayEngine(
  candidate: Policy,
  recordedTimeouts: ReadonlyMap<string, number>,
  limit = REPLAY_LIMIT,
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
  let digestInForce: string | undefined;
  const recordedTimers = () => digestInForce === candidate.digest;
  /** Held in the recording, until its release: what it is. */
  const recordedHeld = new Map<string, { gated: GatedKind; at: number; rule?: string }>();
  /** The first `limit` changes, by id: what each cut off counts toward it. */
  const changeOf = new Map<string, ReplayChange & { suppressed: number; delayed?: number }>();
  /** Effects both sides ran: their executor's reply token is state. */
  const running = new Set<string>();
  const effects = createEffectTally(fold, (id) => running.add(id));
  const watch = createFailureWatch(candidate);
  const cascade = createCascade(fold, limit, {
    suppressed(m, root) {
      effects.cutOff(m.id);
      const c = changeOf.get(root);
      if (c !== undefined) c.suppressed++;
    },
    delayed(id, root) {
      effects.forget(id);
      const c = changeOf.get(root);
      if (c !== undefined) c.delayed = (c.delayed ?? 0) + 1;
    },
  });
  const pushChange = (c: Omit<ReplayChange, 'suppressed'>) => {
    fold.changed++;
    if (c.kind === 'release') fold.changedReleases++;
    if (fold.changes.length >= limit) return;
    // `suppressed` is always there (0 when it cut nothing off).
    const change = { ...c, suppressed: 0 };
    fold.changes.push(change);
    changeOf.set(change.id, change);
  };
  const apply = (partition: number, deltas: readonly StateDelta[], at: number) => {
    stateOf(partition).apply(deltas);
    noteOpenings(fold, 'candidate', deltas, at);
  };
  const releases = createReleases({
    candidate,
    stateOf,
    apply,
    versions,
    slack: TIMER_SLACK_MS,
    recordedTimeouts,
    recordedTimers,
    released(r: Released) {
      cascade.released(r.hold.msgId, r.final === 'deliver');
      if (r.final === 'deliver') watch.delivered(r.envelope, r.hold.gated);
      if (r.hold.gated === 'effect')
        effects.candidate(r.hold.msgId, r.final === 'deliver' ? 'run' : 'not', r.envelope);
    },
    fired: (r, recorded) => onFired(r, recorded),
  });

  /** What the recording did with a message a candidate timer released: `held` while it holds it. */
  const firedEarly = new Map<string, { r: Released; recorded: Verdict }>();
  const onFired = (r: Released, recorded: Verdict) => {
    if (recordedHeld.has(r.hold.msgId)) {
      firedEarly.set(r.hold.msgId, { r, recorded });
      return;
    }
    const later = releases.recordedLater(r.hold.msgId);
    if (later !== undefined) {
      timerChange(r, later.outcome, releaseView(later.outcome, later.verdict, later.by));
      return;
    }
    if (recorded.decision !== 'hold') timerChange(r, recorded.decision, verdictView(recorded));
  };
  /** A candidate timer's outcome, where the recording did otherwise. */
  const timerChange = (r: Released, recordedOutcome: string, recorded: VerdictView) => {
    if (admits(r.final) === admits(recordedOutcome)) return;
    pushChange({
      id: r.hold.msgId,
      type: r.hold.envelope.type,
      subject: r.hold.subject,
      kind: 'release',
      gated: r.hold.gated,
      at: r.at,
      recorded,
      candidate: releaseView(r.final, r.verdict, 'timeout', r.timeout),
      ...(admits(r.final) ? { followUnknown: true as const } : {}),
    });
  };

  const onDecision = (entry: LedgerEntry, msgId: string) => {
    const data = entry.data as unknown as DecisionData;
    const recorded = data.verdict;
    if (recorded === undefined) return;
    const env = data.envelope;
    const effect = data.gated === 'effect' && env !== undefined;
    if (effect)
      effects.recorded(
        msgId,
        recorded.decision === 'deliver' ? 'run' : recorded.decision === 'hold' ? 'held' : 'not',
        env,
      );
    if (recorded.decision === 'hold')
      recordedHeld.set(msgId, {
        gated: data.gated,
        at: entry.at,
        ...(recorded.rule === undefined ? {} : { rule: recorded.rule }),
      });
    noteOpenings(fold, 'recorded', data.deltas, entry.at);
    const cut = cascade.cutCause(entry.causationId ?? env?.causationid);
    if (cut !== undefined) {
      cascade.cut(
        {
          id: msgId,
          type: env?.type ?? '',
          subject: env?.subject ?? entry.subject ?? '',
          gated: data.gated,
          at: entry.at,
        },
        cut,
      );
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
      verdict = decision.verdict;
    }
    fold.decisions++;
    const key = `${recorded.decision}→${verdict.decision}`;
    fold.matrix.set(key, (fold.matrix.get(key) ?? 0) + 1);
    const out = decision?.envelope ?? env;
    if (verdict.decision === 'deliver') {
      if (out !== undefined && recorded.decision !== 'deny' && recorded.decision !== 'quarantine')
        watch.delivered(out, data.gated);
    } else cascade.refuse(msgId, verdict.decision === 'hold');
    if (effect)
      effects.candidate(
        msgId,
        verdict.decision === 'deliver' ? 'run' : verdict.decision === 'hold' ? 'held' : 'not',
        out,
      );
    if (decision !== undefined) releases.arm(entry.partition, decision, recorded);
    if (!sameVerdict(recorded, verdict)) {
      pushChange({
        id: msgId,
        type: env?.type ?? decision?.envelope?.type ?? '',
        subject: env?.subject ?? entry.subject ?? '',
        kind: 'decision',
        gated: data.gated,
        at: entry.at,
        recorded: verdictView(recorded),
        candidate: verdictView(verdict),
        ...(admits(verdict.decision) && !admits(recorded.decision) ? { followUnknown: true as const } : {}),
      });
    }
  };

  const onRelease = (entry: LedgerEntry, msgId: string) => {
    const data = entry.data as { by?: string; outcome?: Outcome; verdict?: Verdict; deltas?: StateDelta[] };
    noteOpenings(fold, 'recorded', data.deltas, entry.at);
    const held = recordedHeld.get(msgId);
    if (held === undefined) return;
    const gated = held.gated;
    recordedHeld.delete(msgId);
    const recordedOutcome = data.outcome ?? 'deny';
    // The recording's approval rule, how long its hold waited, and what it did (a timeout's detail).
    const recordedSide =
      data.by === 'timeout' && held.rule !== undefined
        ? { rule: held.rule, afterMs: entry.at - held.at, onTimeout: recordedOutcome }
        : undefined;
    if (gated === 'effect') effects.recorded(msgId, recordedOutcome === 'deliver' ? 'run' : 'not');
    if (cascade.isCut(msgId)) return;
    const early = firedEarly.get(msgId);
    if (early !== undefined) {
      // The candidate's timer released it before the recording did.
      firedEarly.delete(msgId);
      fold.pilot.replayed++;
      fold.pilot.moot++;
      timerChange(
        early.r,
        recordedOutcome,
        releaseView(recordedOutcome, data.verdict, data.by, recordedSide),
      );
      return;
    }
    const byTimeout = data.by === 'timeout';
    const done = releases.recorded(entry, msgId, data, byTimeout);
    if (done === 'skip') return;
    fold.pilot.replayed++;
    if (done === undefined) {
      fold.pilot.moot++;
      return;
    }
    if (done.final === recordedOutcome) return;
    const h = done.hold;
    pushChange({
      id: msgId,
      type: h.envelope.type,
      subject: h.subject,
      kind: 'release',
      gated: h.gated,
      at: entry.at,
      recorded: releaseView(recordedOutcome, data.verdict, data.by, recordedSide),
      candidate: releaseView(done.final, done.verdict, data.by, done.timeout),
    });
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
    noteOpenings(fold, 'recorded', (entry.data as { deltas?: StateDelta[] }).deltas, entry.at);
    const env = watch.get(msgId);
    if (entry.kind === ENTRY.deadLetter) {
      running.delete(msgId);
      if (entry.agent?.startsWith('effect:') === true) effects.ran(msgId, false);
      watch.done(msgId, entry.agent);
    }
    if (env === undefined || entry.agent === undefined) return;
    const kind = entry.kind === ENTRY.deadLetter ? ENTRY.deadLetter : ENTRY.deliveryFailed;
    const counted = countFailure(candidate, stateOf(entry.partition), kind, env, entry.agent, entry.at);
    apply(entry.partition, counted.deltas, entry.at);
  };

  return {
    fold,
    policyInForce(entry) {
      const digest = (entry.data as { digest?: unknown }).digest;
      if (typeof digest === 'string') digestInForce = digest;
    },
    settle(now) {
      releases.fireDue(now);
      for (const { r, recorded } of firedEarly.values()) {
        if (recorded.decision === 'hold') timerChange(r, 'hold', STILL_HELD);
      }
      firedEarly.clear();
      cascade.finish();
      effects.finish();
    },
    sizes: () => ({
      ...cascade.sizes(),
      recordedHeld: recordedHeld.size,
      effects: effects.size(),
      running: running.size,
      watched: watch.size(),
      changes: fold.changes.length,
      suppressed: fold.suppressed.length,
      timers: releases.size(),
    }),
    apply(entry) {
      releases.fireDue(entry.at);
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
          if (id === undefined) return;
          watch.done(id, entry.agent);
          if (entry.kind === ENTRY.effectExecuted) effects.ran(id, true);
          // An executor's reply token is state (echo links); only for what the candidate ran too.
          const deltas = (entry.data as { deltas?: StateDelta[] }).deltas;
          if (entry.kind === ENTRY.effectExecuted && running.delete(id) && deltas !== undefined)
            apply(entry.partition, deltas, entry.at);
          return;
        }
      }
    },
  };
}
