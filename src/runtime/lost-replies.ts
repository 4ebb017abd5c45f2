import type { LedgerEntry } from '../ledger/index.js';
import type { PartitionItem } from './partitions.js';
import type { Tickets } from './tickets.js';

/** How long a sender waits for a reply before it looks for the outcome in the ledger, and how often. */
const REPLY_WAIT_MS = 20_000;
const LOOKUP_EVERY_MS = 5_000;

/** The first entry the ledger holds for each message id (`RouterCluster.lookup`). */
type Lookup = (ids: readonly string[]) => Promise<ReadonlyMap<string, LedgerEntry>>;

/**
 * A reply is at most once (core NATS): one lost in a disconnect would leave its sender waiting for
 * good. So an item whose reply has not come within REPLY_WAIT_MS is looked up in the ledger by its
 * id, every LOOKUP_EVERY_MS: once its decision is there, the ticket settles with it (a handler's
 * group with its entries' first). An item still on its way to an owner is simply not found yet.
 * One whose reply can never come (`lookUpNow`: the broker dropped it as a resend, and answered its
 * first copy's sender) is looked up at once, then with the others.
 */
export function watchLostReplies(tickets: Tickets, lookup: Lookup) {
  const waiting = new Map<number, { readonly id: string; readonly root: boolean; since: number }>();
  let looking = false;
  let again = false;
  // One batched read a round, and none while the last one runs: a backlog must not flood the ledger.
  const round = () => {
    if (looking) {
      again = true; // asked for meanwhile (lookUpNow): one more round once this one is done
      return;
    }
    const due = Date.now() - REPLY_WAIT_MS;
    const overdue = [...waiting].filter(([, w]) => w.since <= due);
    if (overdue.length === 0) return;
    looking = true;
    lookup(overdue.map(([, w]) => w.id))
      .then(
        (found) => {
          for (const [ticket, w] of overdue) {
            const entry = found.get(w.id);
            if (entry === undefined || !waiting.has(ticket)) continue;
            waiting.delete(ticket); // now, not once it settles: a round that follows at once skips it
            tickets.settle(ticket, Promise.resolve(w.root ? entry : [entry]));
          }
        },
        () => {}, // the ledger unreachable: try again next round
      )
      .finally(() => {
        looking = false;
        if (again) {
          again = false;
          round();
        }
      });
  };
  const timer = setInterval(round, LOOKUP_EVERY_MS);
  timer.unref();
  return {
    watch(item: PartitionItem, settled: Promise<unknown>) {
      const id =
        item.kind === 'root'
          ? item.message.id
          : item.kind === 'emitted'
            ? item.emitted.find((out) => out.external !== true)?.envelope.id
            : undefined;
      if (id === undefined) return;
      waiting.set(item.ticket, { id, root: item.kind === 'root', since: Date.now() });
      const done = () => waiting.delete(item.ticket);
      settled.then(done, done);
    },
    /** Looks a watched ticket's item up now: its reply will not come. */
    lookUpNow(ticket: number) {
      const w = waiting.get(ticket);
      if (w === undefined) return;
      w.since = Number.NEGATIVE_INFINITY;
      round();
    },
    stop: () => clearInterval(timer),
  };
}
