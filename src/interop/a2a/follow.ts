import type { Mesh, MeshEvent } from '../../runtime/index.js';

type Decided = Extract<MeshEvent, { type: 'decision' }>;

/** How the addressed agent dealt with a delivered message. */
export type Handled =
  | { readonly ok: true; readonly agent: string; readonly answers: readonly Decided[] }
  | { readonly ok: false; readonly agent: string; readonly code: string; readonly message: string };

/** Why following stopped before the message was handled: the mesh closed. */
export type Stopped = { readonly stopped: true };

export type Follow = {
  /** A hold's release: `deliver` (approved, or its timeout delivers) or `deny`, with who released it. */
  released(): Promise<{ outcome: 'deliver' | 'deny'; by: string } | Stopped>;
  /** The agent's handling: what it emitted or requested, each with its gate decision; or its dead letter. */
  handled(): Promise<Handled | Stopped>;
  /** Stops listening. */
  close(): void;
};

/**
 * Follows one message through the mesh by its events: released from a hold, handed to its agent,
 * and each of the agent's answers decided. It listens from the moment it is made, before the message
 * is injected, so nothing that happens quickly is missed.
 */
export function followMessage(mesh: Mesh, msgId: string): Follow {
  const answers = new Map<string, Decided>();
  let release: { outcome: 'deliver' | 'deny'; by: string } | undefined;
  let outcome: Extract<MeshEvent, { type: 'delivered' | 'dead-letter' }> | undefined;
  let stopped = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const unsubscribe = mesh.onEvent((event) => {
    if (event.type === 'decision') {
      if (event.envelope?.causationid !== msgId) return;
      answers.set(event.msgId, event);
    } else if (event.msgId !== msgId) return;
    else if (event.type === 'released') release = { outcome: event.outcome, by: event.by };
    else if (event.type === 'delivered' || event.type === 'dead-letter') outcome = event;
    else return;
    wake();
  });
  void mesh.closed.then(() => {
    stopped = true;
    wake();
  });
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
    released: () => until(() => release),
    handled: () =>
      until((): Handled | undefined => {
        if (outcome?.type === 'dead-letter')
          return { ok: false, agent: outcome.worker, code: outcome.code, message: outcome.message };
        if (outcome?.type !== 'delivered') return undefined;
        // Answers are decided after the handler returns, once durable: wait for each one.
        const decided = outcome.emitted.map((id) => answers.get(id));
        if (decided.some((d) => d === undefined)) return undefined;
        return { ok: true, agent: outcome.agent, answers: decided as Decided[] };
      }),
    close() {
      unsubscribe();
      waiters.clear();
    },
  };
}
