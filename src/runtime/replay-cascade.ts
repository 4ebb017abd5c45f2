import type { GatedKind } from '../envelope/index.js';
import type { ReplayFold } from './replay-fold.js';

// What the candidate cut off (replay-engine.ts): a recorded message whose cause the candidate refused
// is not decided again. Keeps the ids the candidate refused (decided, not delivered), and for each
// message cut off its root; a descendant of a hold the candidate still holds waits on it: released
// with deliver, it was delayed (its future unknown), else it would not have happened.

/** A recorded message cut off: what the report says of it. */
export type CutMessage = {
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  readonly gated: GatedKind;
  readonly at: number;
};

export type Cascade = {
  /** The candidate refused (or holds) `id`. */
  refuse(id: string, held: boolean): void;
  /** The candidate released its hold of `id`: delivered, or not. */
  released(id: string, delivered: boolean): void;
  /** The root change a message caused by `causation` stands cut by, if it was cut. */
  cutCause(causation: string | undefined): string | undefined;
  isCut(id: string): boolean;
  /** `m` was cut off by `root` (from cutCause). */
  cut(m: CutMessage, root: string): void;
  /** Holds never released: what waits on them would not have happened. */
  finish(): void;
  readonly sizes: () => { refused: number; cut: number; waiting: number };
};

export type CascadeEvents = {
  suppressed(m: CutMessage, root: string): void;
  delayed(id: string, root: string): void;
};

export function createCascade(fold: ReplayFold, limit: number, on: CascadeEvents): Cascade {
  const refused = new Set<string>();
  const cutBy = new Map<string, string>();
  /** Holds of the candidate's, with the descendants cut off while they are held. */
  const waiting = new Map<string, CutMessage[]>();
  const suppress = (m: CutMessage, root: string) => {
    fold.suppressedTotal++;
    if (fold.suppressed.length < limit) fold.suppressed.push(m.id);
    if (fold.wouldNotHappen.length < limit) fold.wouldNotHappen.push(m);
    on.suppressed(m, root);
  };
  return {
    refuse(id, held) {
      refused.add(id);
      if (held) waiting.set(id, []);
    },
    released(id, delivered) {
      const list = waiting.get(id);
      waiting.delete(id);
      if (delivered) refused.delete(id);
      for (const d of list ?? []) {
        if (!delivered) {
          suppress(d, id);
          continue;
        }
        // Delivered later: what it caused may still happen, at other times; decided again from here on.
        cutBy.delete(d.id);
        fold.delayedTotal++;
        if (fold.delayed.length < limit) fold.delayed.push(d.id);
        on.delayed(d.id, id);
      }
    },
    cutCause(causation) {
      if (causation === undefined) return undefined;
      return cutBy.get(causation) ?? (refused.has(causation) ? causation : undefined);
    },
    isCut: (id) => cutBy.has(id),
    cut(m, root) {
      cutBy.set(m.id, root);
      const list = waiting.get(root);
      if (list !== undefined) list.push(m);
      else suppress(m, root);
    },
    finish() {
      for (const [root, list] of waiting) for (const d of list) suppress(d, root);
      waiting.clear();
    },
    sizes: () => ({ refused: refused.size, cut: cutBy.size, waiting: waiting.size }),
  };
}
