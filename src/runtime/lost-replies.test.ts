import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../ledger/index.js';
import { watchLostReplies } from './lost-replies.js';
import type { PartitionItem } from './partitions.js';
import { createTickets } from './tickets.js';

// What a sender does when a reply does not come: the ledger is asked for the item's outcome.
describe('lost replies', () => {
  const root = (ticket: number, id: string) =>
    ({
      kind: 'root',
      ticket,
      ingress: 'api',
      message: { id, type: 't', subject: 's', data: {} },
    }) as PartitionItem;
  const entryOf = (id: string) => ({ msgId: id, kind: 'decision' }) as unknown as LedgerEntry;

  /**
   * A lost-reply watch over real tickets, whose ledger finds every id asked (`asked`, a read each);
   * with `holdFirst` the first read waits for `release`. `send` issues and watches a root's ticket.
   */
  function watching(holdFirst = false) {
    const tickets = createTickets();
    const asked: string[][] = [];
    let release: () => void = () => {};
    const lost = watchLostReplies(tickets, async (ids) => {
      asked.push([...ids]);
      if (holdFirst && asked.length === 1) await new Promise<void>((r) => (release = r));
      return new Map(ids.map((id) => [id, entryOf(id)]));
    });
    const send = (id: string) => {
      const sent = tickets.issue<LedgerEntry>();
      lost.watch(root(sent.ticket, id), sent.promise);
      return sent;
    };
    return { tickets, asked, lost, send, release: () => release() };
  }

  it('looks up at once an item whose reply will not come (a resend the broker dropped), and settles it', async () => {
    const { tickets, asked, lost, send } = watching();
    try {
      const waiting = send('m-1');
      send('m-2');
      lost.lookUpNow(waiting.ticket);
      expect(await waiting.promise).toEqual(entryOf('m-1'));
      // Only that one: the other's reply may still come, so it waits its turn.
      expect(asked).toEqual([['m-1']]);
      expect(tickets.open()).toBe(1);
    } finally {
      lost.stop();
    }
  });

  it('asks again once the round in progress ends, when told meanwhile', async () => {
    const { asked, lost, send, release } = watching(true);
    try {
      const first = send('m-1');
      const second = send('m-2');
      lost.lookUpNow(first.ticket);
      lost.lookUpNow(second.ticket); // while the first round still reads
      release();
      expect(await second.promise).toEqual(entryOf('m-2'));
      expect(asked).toEqual([['m-1'], ['m-2']]);
    } finally {
      lost.stop();
    }
  });
});
