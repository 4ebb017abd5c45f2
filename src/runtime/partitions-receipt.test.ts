// The receipt the partition handler gives the bus: it says "not durable" when a decision of the
// batch did not become durable, so that a bus that can redeliver (JetStream) hands the batch back.
import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../envelope/index.js';
import type { BusReceipt } from './bus.js';
import { createIdClaims } from './id-claims.js';
import { partitionHandler } from './partition-handler.js';
import type { Partition, PartitionItem } from './partitions.js';
import { createTickets } from './tickets.js';

describe('the partition handler’s receipt', () => {
  it('rejects when a decision of the batch did not become durable, and the sender hears of it', async () => {
    // A ledger that cannot be read: the item's duplicate-id read fails, so it is never judged.
    const admission = { decisionsOf: () => Promise.reject(new Error('the ledger is down')) };
    const partitions = [{ admission } as unknown as Partition];
    const tickets = createTickets();
    const { ticket, promise } = tickets.issue();
    const item = {
      kind: 'root',
      ticket,
      ingress: 'api',
      message: { id: 'm-1', type: 'job.queued.v1', subject: 'job:1', data: {} },
    } as unknown as PartitionItem;
    const receipt = (await partitionHandler(
      partitions,
      (item, outcome) => tickets.settle(item.ticket, outcome),
      createIdClaims(),
    )([item], 0)) as BusReceipt;
    const codeOf = (err: unknown) => (isMeshwardenError(err) ? err.code : String(err));
    expect(await receipt.done.then(() => 'durable', codeOf)).toBe('MW_RUNTIME_ID_READ');
    expect(await promise.then(() => 'admitted', codeOf)).toBe('MW_RUNTIME_ID_READ');
  });
});
