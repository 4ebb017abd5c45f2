import type { ReplayFold } from './replay-fold.js';

// What the candidate cut off (replay-engine.ts): a recorded message whose cause the candidate refused
// is not decided again. Keeps the ids the candidate refused (decided, not delivered), and for each
// message cut off its root; a descendant of a hold the candidate still holds waits on it: released
// with deliver, it was delayed (its future unknown), else it would not have happened.

export type Cascade = {
  /** The candidate refused (or holds) `id`. */
  refuse(id: string, held: boolean): void;
  /** The candidate released its hold of `id`: delivered, or not. */
  released(id: string, delivered: boolean): void;
  /** The root change a message caused by `causation` stands cut by, if it was cut. */
  cutCause(causation: string | undefined): string | undefined;
  isCut(id: string): boolean;
  /** `id` was cut off by `root` (from cutCause). */
  cut(id: string, root: string): void;
  /** Holds never released: what waits on them would not have happened. */
  finish(): void;
  readonly sizes: () => { refused: number; cut: number; waiting: number };
};

export type CascadeEvents = {
  suppressed(id: string, root: string): void;
  delayed(id: string, root: string): void;
};

export function createCascade(fold: ReplayFold, limit: number, on: CascadeEvents): Cascade {
  const refused = new Set<string>();
  const cutBy = new Map<string, string>();
  /** Holds of the candidate's, with the descendants cut off while they are held. */
  const waiting = new Map<string, string[]>();
  const suppress = (id: string, root: string) => {
    fold.suppressedTotal++;
    if (fold.suppressed.length < limit) fold.suppressed.push(id);
    on.suppressed(id, root);
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
        cutBy.delete(d);
        fold.delayedTotal++;
        if (fold.delayed.length < limit) fold.delayed.push(d);
        on.delayed(d, id);
      }
    },
    cutCause(causation) {
      if (causation === undefined) return undefined;
      return cutBy.get(causation) ?? (refused.has(causation) ? causation : undefined);
    },
    isCut: (id) => cutBy.has(id),
    cut(id, root) {
      cutBy.set(id, root);
      const list = waiting.get(root);
      if (list !== undefined) list.push(id);
      else suppress(id, root);
    },
    finish() {
      for (const [root, list] of waiting) for (const d of list) suppress(d, root);
      waiting.clear();
    },
    sizes: () => ({ refused: refused.size, cut: cutBy.size, waiting: waiting.size }),
  };
}
