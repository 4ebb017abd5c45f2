import type { Envelope } from '../envelope/index.js';
import type { ReplayFold } from './replay-fold.js';
import { addEffect } from './replay-report.js';

// The effects either side ran, summed as each is settled: an effect is kept only while one side
// still holds it (then released, or never: not run). The engine tells each side's outcome once it
// is known; `held` until a release tells it again.

type Side = 'run' | 'not' | 'held';
type Pending = {
  recorded?: Side;
  candidate?: Side;
  recordedEnv?: Envelope;
  candidateEnv?: Envelope;
  /** Admitted in the recording, not by the candidate: counted once its executor ran it. */
  awaitingRun?: true;
  /** What the recording's executor did, if told before both sides settled. */
  ran?: boolean;
};

export type EffectTally = {
  recorded(id: string, outcome: Side, env?: Envelope): void;
  candidate(id: string, outcome: Side, env?: Envelope): void;
  /** Neither side's count: the effect's future is unknown (a delayed descendant). */
  forget(id: string): void;
  /** The candidate cut it off: not run, if it is an effect either side told of. */
  cutOff(id: string): void;
  /** The recording's executor ran it (`effect.executed`), or gave up (`dead-letter`). */
  ran(id: string, executed: boolean): void;
  /** Settles what is still held: not run. */
  finish(): void;
  /** Effects kept (both sides not settled yet). */
  readonly size: () => number;
};

type Add = Parameters<typeof addEffect>[0];

/** `both(id)`: called when both sides ran it (its executor's reply token is the candidate's too). */
export function createEffectTally(fold: ReplayFold, both: (id: string) => void): EffectTally {
  const pending = new Map<string, Pending>();
  const settle = (id: string, p: Pending) => {
    if (p.recorded === undefined || p.candidate === undefined) return;
    if (p.recorded === 'held' || p.candidate === 'held') return;
    if (p.recorded === 'run' && p.candidate !== 'run' && p.recordedEnv !== undefined && p.ran === undefined) {
      // Would not have run, if it ran: wait for its execution in the recording.
      p.awaitingRun = true;
      return;
    }
    pending.delete(id);
    if (p.recorded === 'run' && p.candidate !== 'run') {
      if (p.ran === true && p.recordedEnv !== undefined) {
        addEffect(fold.wouldNot as Add, p.recordedEnv);
        fold.wouldNotRun++;
      }
      return;
    }
    if (p.recorded === 'run' && p.candidate === 'run') both(id);
    else if (p.candidate === 'run' && p.candidateEnv !== undefined) {
      addEffect(fold.would as Add, p.candidateEnv);
      fold.wouldRun++;
    }
  };
  const side = (which: 'recorded' | 'candidate') => (id: string, outcome: Side, env?: Envelope) => {
    const p = pending.get(id) ?? {};
    pending.set(id, p);
    p[which] = outcome;
    if (env !== undefined) p[which === 'recorded' ? 'recordedEnv' : 'candidateEnv'] = env;
    settle(id, p);
  };
  return {
    recorded: side('recorded'),
    candidate: side('candidate'),
    ran(id, executed) {
      const p = pending.get(id);
      if (p === undefined) return;
      if (p.awaitingRun !== true) {
        p.ran = executed;
        return;
      }
      pending.delete(id);
      if (!executed || p.recordedEnv === undefined) return;
      addEffect(fold.wouldNot as Add, p.recordedEnv);
      fold.wouldNotRun++;
    },
    forget: (id) => {
      pending.delete(id);
    },
    cutOff(id) {
      const p = pending.get(id);
      if (p === undefined) return;
      p.candidate = 'not';
      settle(id, p);
    },
    finish() {
      for (const [id, p] of [...pending]) {
        // Admitted, not executed by the end: it did not run.
        if (p.awaitingRun === true) {
          pending.delete(id);
          continue;
        }
        p.recorded = p.recorded === 'run' ? 'run' : 'not';
        p.candidate = p.candidate === 'run' ? 'run' : 'not';
        settle(id, p);
      }
    },
    size: () => pending.size,
  };
}
