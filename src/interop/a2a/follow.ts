import type { Mesh, MeshEvent } from '../../runtime/index.js';

type Decided = Extract<MeshEvent, { type: 'decision' }>;

/** How the addressed agent dealt with a delivered message. */
export type Handled =
  | { readonly ok: true; readonly agent: string; readonly answers: readonly Decided[] }
  | { readonly ok: false; readonly agent: string; readonly code: string; readonly message: string };

/** A hold's release: `deliver` (approved, or its timeout delivers) or `deny`, who released it, and why a gate refused an approved one. */
export type Released = {
  readonly outcome: 'deliver' | 'deny';
  readonly by: string;
  readonly refusedBy?: string;
};

/** Why following stopped before the message got that far: the mesh closed. */
export type Stopped = { readonly stopped: true };

export type Follow = {
  released(): Promise<Released | Stopped>;
  /** The agent's handling: what it emitted or requested, each with its gate decision; or its dead letter. */
  handled(): Promise<Handled | Stopped>;
  /** Stops following: forgets the message and what was gathered for it. */
  close(): void;
};

export type Following = {
  /** Starts following a message by id; do it before the message is injected, so nothing is missed. */
  follow(msgId: string): Follow;
  /** How many messages are followed now. */
  size(): number;
};

type Follower = {
  answers: Map<string, Decided>;
  release?: Released;
  outcome?: Extract<MeshEvent, { type: 'delivered' | 'dead-letter' }>;
  wake(): void;
};

/**
 * Follows messages through the mesh by its events: released from a hold, handed to their agent,
 * and each of the agent's answers decided. One subscription for every message followed (a held
 * one may be followed for hours), and a message is forgotten when its follow is closed.
 */
export function createFollowing(mesh: Mesh): Following {
  const followers = new Map<string, Follower>();
  let stopped = false;
  let unsubscribe: (() => void) | undefined;
  const listen = (event: MeshEvent) => {
    if (event.type === 'decision') {
      const cause = event.envelope?.causationid;
      const follower = cause === undefined ? undefined : followers.get(cause);
      if (follower === undefined) return;
      follower.answers.set(event.msgId, event);
      follower.wake();
      return;
    }
    const follower = followers.get(event.msgId);
    if (follower === undefined) return;
    if (event.type === 'released') {
      follower.release = {
        outcome: event.outcome,
        by: event.by,
        ...(event.refusedBy === undefined ? {} : { refusedBy: event.refusedBy }),
      };
    } else if (event.type === 'delivered' || event.type === 'dead-letter') follower.outcome = event;
    else return;
    follower.wake();
  };
  void mesh.closed.then(() => {
    stopped = true;
    for (const follower of followers.values()) follower.wake();
  });

  return {
    size: () => followers.size,
    follow(msgId) {
      const waiters = new Set<() => void>();
      const follower: Follower = {
        answers: new Map(),
        wake: () => {
          for (const waiter of [...waiters]) waiter();
        },
      };
      followers.set(msgId, follower);
      // Subscribed only while something is followed: a mesh with no listener skips building events.
      unsubscribe ??= mesh.onEvent(listen);
      const until = <T>(ready: () => T | undefined): Promise<T | Stopped> =>
        new Promise((resolve) => {
          const check = () => {
            const value = ready();
            if (value === undefined && !stopped) return;
            waiters.delete(check);
            resolve(value ?? { stopped: true });
          };
          waiters.add(check);
          check();
        });
      return {
        released: () => until(() => follower.release),
        handled: () =>
          until((): Handled | undefined => {
            const { outcome } = follower;
            if (outcome?.type === 'dead-letter')
              return { ok: false, agent: outcome.worker, code: outcome.code, message: outcome.message };
            if (outcome?.type !== 'delivered') return undefined;
            // Each answer was decided before the agent's handling was told done; all are here.
            const decided = outcome.emitted.map((id) => follower.answers.get(id));
            if (decided.some((d) => d === undefined)) return undefined;
            return { ok: true, agent: outcome.agent, answers: decided as Decided[] };
          }),
        close() {
          waiters.clear();
          if (followers.get(msgId) === follower) followers.delete(msgId);
          if (followers.size === 0) {
            unsubscribe?.();
            unsubscribe = undefined;
          }
        },
      };
    },
  };
}
