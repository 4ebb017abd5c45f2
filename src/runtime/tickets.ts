/**
 * The promises `inject` and `admitAll` return, kept by ticket until their partition handled them.
 * A ticket is a number of this process; an item handled on another node comes back by its reply
 * (replies.ts), which settles the same ticket.
 */
export type Tickets = {
  issue<T>(): { readonly ticket: number; readonly promise: Promise<T> };
  /** Settles a ticket with the outcome of its item (a decision entry, a durable group). */
  settle(ticket: number, outcome: Promise<unknown>): void;
  /** Tickets issued and not yet settled: items on the bus that no partition handled yet. */
  open(): number;
};

export function createTickets(): Tickets {
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let next = 0;
  return {
    issue<T>() {
      const ticket = next++;
      const promise = new Promise<T>((resolve, reject) => {
        waiting.set(ticket, { resolve: resolve as (v: unknown) => void, reject });
      });
      return { ticket, promise };
    },
    settle(ticket, outcome) {
      const w = waiting.get(ticket);
      if (w === undefined) return;
      waiting.delete(ticket);
      outcome.then(w.resolve, w.reject);
    },
    open: () => waiting.size,
  };
}
