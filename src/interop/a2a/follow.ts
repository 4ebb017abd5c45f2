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
  readonly regateReason?: string;
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
  // A set per id: a client that sends the same message twice follows it twice (the second is refused
  // by the mesh), and neither follower may push the other out.
  const followers = new Map<string, Set<Follower>>();
  let stopped = false;
  let unsubscribe: (() => void) | undefined;
  const each = (id: string | undefined, act: (follower: Follower) => void) => {
    const set = id === undefined ? undefined : followers.get(id);
    if (set !== undefined) for (const follower of set) act(follower);
  };
  const listen = (event: MeshEvent) => {
    if (event.type === 'decision') {
      each(event.causationid, (follower) => {
        follower.answers.set(event.msgId, event);
        follower.wake();
      });
      return;
    }
    if (event.type === 'released') {
      const release: Released = {
        outcome: event.outcome,
        by: event.by,
        ...(event.regateReason === undefined ? {} : { regateReason: event.regateReason }),
      };
      each(event.msgId, (follower) => {
        follower.release = release;
        follower.wake();
      });
    } else if (event.type === 'delivered' || event.type === 'dead-letter') {
      each(event.msgId, (follower) => {
        follower.outcome = event;
        follower.wake();
      });
    }
  };
  void mesh.closed.then(() => {
    stopped = true;
    for (const set of followers.values()) for (const follower of set) follower.wake();
  });
  let size = 0;

  return {
    size: () => size,
    follow(msgId) {
      const waiters = new Set<() => void>();
      const follower: Follower = {
        answers: new Map(),
        wake: () => {
          for (const waiter of [...waiters]) waiter();
        },
      };
      const set = followers.get(msgId) ?? new Set();
      set.add(follower);
      followers.set(msgId, set);
      size++;
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
      let closed = false;
      return {
        released: () => until(() => follower.release),
        handled: () =>
          until((): Handled | undefined => {
            const { outcome } = follower;
            if (outcome?.type === 'dead-letter')
              return { ok: false, agent: outcome.worker, code: outcome.code, message: outcome.message };
            if (outcome?.type !== 'delivered') return undefined;
            // Every answer was decided before the handling was told done (once durable): all are
            // here, the malformed ones and those refused before the gate included.
            return { ok: true, agent: outcome.agent, answers: [...follower.answers.values()] };
          }),
        close() {
          if (closed) return;
          closed = true;
          waiters.clear();
          set.delete(follower);
          if (set.size === 0 && followers.get(msgId) === set) followers.delete(msgId);
          size--;
          if (size === 0) {
            unsubscribe?.();
            unsubscribe = undefined;
          }
        },
      };
    },
  };
}
