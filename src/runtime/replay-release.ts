import { type Envelope, parseSource } from '../envelope/index.js';
import { type Decision, decide, partnerReach, type Verdict } from '../gate/index.js';
import type { LedgerEntry } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import {
  type HoldState,
  holdRelease,
  holdTimeoutAt,
  type StateDelta,
  type StateStore,
} from '../state/index.js';
import { jsonText } from './candidate-text.js';
import { isFrozen } from './freezes.js';
import type { createVersionAdoption } from './replay-versions.js';

// The candidate's holds in a replay (replay-engine.ts): released as the runtime does
// (hold-release.ts), by a recorded pilot's release or timeout, or by the candidate's own approval
// timers, kept in time order. A timer is kept only while its hold is open.

/** A candidate hold released: its outcome, the re-gate's verdict when it refused, the envelope. */
export type Released = {
  readonly final: 'deliver' | 'deny';
  readonly verdict: Verdict | undefined;
  readonly hold: HoldState;
  readonly envelope: Envelope;
  readonly at: number;
  /** Released by the candidate's approval timeout: its rule, its wait and its onTimeout. */
  readonly timeout?: { readonly rule: string; readonly afterMs: number; readonly onTimeout: string };
};

type Timer = {
  readonly msgId: string;
  readonly partition: number;
  readonly at: number;
  readonly onTimeout: 'deliver' | 'deny';
  /** The recorded verdict of the message. */
  readonly recorded: Verdict;
};

type RecordedRelease = { by?: string; outcome?: string; verdict?: Verdict };

export type Releases = {
  /** Arms the candidate's approval timer of a hold it decided. */
  arm(partition: number, d: Decision, recorded: Verdict): void;
  /** A recorded release: the candidate's, `undefined` when it held nothing, `skip` when not its turn. */
  recorded(
    entry: LedgerEntry,
    msgId: string,
    data: RecordedRelease,
    byTimeout: boolean,
  ): Released | undefined | 'skip';
  /** The recording's timeout of a hold the candidate's timer releases later (then forgotten). */
  recordedLater(msgId: string): { outcome: string; verdict?: Verdict; by?: string } | undefined;
  fireDue(now: number): void;
  readonly size: () => number;
};

export function createReleases(o: {
  readonly candidate: Policy;
  readonly stateOf: (p: number) => StateStore;
  readonly apply: (partition: number, deltas: readonly StateDelta[], at: number) => void;
  readonly versions: ReturnType<typeof createVersionAdoption>;
  readonly slack: number;
  readonly recordedTimeouts: ReadonlyMap<string, number>;
  readonly recordedTimers: () => boolean;
  readonly released: (r: Released) => void;
  readonly fired: (r: Released, recorded: Verdict) => void;
}): Releases {
  const { candidate, stateOf } = o;
  let timers: Timer[] = [];
  const later = new Map<string, { outcome: string; verdict?: Verdict; by?: string }>();

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
        o.versions.policyFor(hold.envelope, hold.verdict.reason),
        state,
      );
    } else if (outcome === 'deliver' && hold.partner === true) {
      // A partner's approval hold is not gated again; its reach is checked again (hold-release.ts).
      const refused = partnerReach(candidate, hold.envelope, parseSource(hold.envelope.source)?.name ?? '');
      if (refused !== undefined) regated = { verdict: refused, deltas: [] };
    }
    o.apply(partition, [holdRelease(msgId), ...(regated?.deltas ?? [])], at);
    const final: 'deliver' | 'deny' =
      regated === undefined || regated.verdict.decision === 'deliver' ? outcome : 'deny';
    timers = timers.filter((t) => t.msgId !== msgId);
    const rule = byTimeout ? candidate.approvals.find((a) => a.id === hold.verdict.rule) : undefined;
    const r: Released = {
      final,
      verdict: regated?.verdict,
      hold,
      envelope: regated?.envelope ?? hold.envelope,
      at,
      ...(rule === undefined
        ? {}
        : { timeout: { rule: rule.id, afterMs: rule.timeoutMs, onTimeout: rule.onTimeout } }),
    };
    o.released(r);
    return r;
  };

  return {
    arm(partition, d, recorded) {
      if (d.verdict.decision !== 'hold' || d.verdict.stage !== 'approval' || d.envelope === undefined) return;
      const rule = candidate.approvals.find((a) => a.id === d.verdict.rule);
      const hold = stateOf(partition).hold(d.envelope.id);
      if (rule === undefined || hold === undefined) return;
      const due = holdTimeoutAt(hold, rule.timeoutMs);
      const recordedAt = o.recordedTimeouts.get(hold.msgId);
      // Fired by the recorded timeout entry when due by then; else at its own time.
      if (o.recordedTimers() || (recordedAt !== undefined && due <= recordedAt + o.slack)) return;
      // Kept in time order (ties in the order armed): the first past the ones due no later.
      let i = timers.length;
      while (i > 0 && timers[i - 1]!.at > due) i--;
      timers.splice(i, 0, { msgId: hold.msgId, partition, at: due, onTimeout: rule.onTimeout, recorded });
    },
    recorded(entry, msgId, data, byTimeout) {
      let intent: 'deliver' | 'deny';
      if (byTimeout) {
        const hold = stateOf(entry.partition).hold(msgId);
        const rule =
          hold === undefined ? undefined : candidate.approvals.find((a) => a.id === hold.verdict.rule);
        if (hold === undefined || hold.verdict.stage !== 'approval' || rule === undefined) return 'skip';
        // The candidate's own timer, armed to fire later (it waits in `timers`).
        if (!o.recordedTimers() && holdTimeoutAt(hold, rule.timeoutMs) > entry.at + o.slack) {
          later.set(msgId, {
            outcome: data.outcome ?? 'deny',
            ...(data.verdict === undefined ? {} : { verdict: data.verdict }),
            ...(data.by === undefined ? {} : { by: data.by }),
          });
          return 'skip';
        }
        intent = rule.onTimeout;
      } else {
        // A pilot's approval the re-gate refused is still an approval.
        intent =
          data.outcome === 'deliver' || (data.verdict !== undefined && data.verdict.decision !== 'deliver')
            ? 'deliver'
            : 'deny';
      }
      return release(entry.partition, msgId, intent, entry.at, byTimeout);
    },
    recordedLater(msgId) {
      const l = later.get(msgId);
      later.delete(msgId);
      return l;
    },
    fireDue(now) {
      while (timers.length > 0 && timers[0]!.at <= now) {
        const t = timers.shift()!;
        const r = release(t.partition, t.msgId, t.onTimeout, t.at, true);
        if (r !== undefined) o.fired(r, t.recorded);
      }
    },
    size: () => timers.length + later.size,
  };
}
