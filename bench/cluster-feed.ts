// The load of a cluster bench: root messages published straight onto the mesh's stream, to the
// partition of their subject, as a node's ingress does for a partition it does not own. The feeder
// is not a node (it holds no lease), so the node count is exact and no hand-off runs while it
// feeds; each root's decision comes back to it as a reply, which bounds what it has in flight.
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { partitionOf } from '../dist/envelope/index.js';
import { openJetStreamBus } from '../dist/runtime/jetstream-bus.js';
import { ITEMS_PER_MESSAGE } from '../dist/runtime/open-cluster.js';
import type { PartitionItem } from '../dist/runtime/partitions.js';
import { openNatsReplies } from '../dist/runtime/replies.js';

export const FEEDER = 'bench-feed';

export type Feeder = {
  /**
   * Feeds `pipelines` roots (`step.one.v1`, subjects over `entities`), at most `inFlight` whose
   * decision has not come back; resolves once all are published and `stop()` was not called. Roots
   * whose reply is lost (their owner was killed) free their slot after `replyTimeoutMs`.
   */
  feed(
    pipelines: number,
    opts: { inFlight: number; entities: number; replyTimeoutMs?: number },
  ): Promise<number>;
  /** Stops a feed early (it resolves with the count published). */
  stop(): void;
  /** Roots decided (replies received) so far. */
  decided(): number;
  close(): Promise<void>;
};

export async function openFeeder(nc: NatsConnection, mesh: string, partitions: number): Promise<Feeder> {
  const bus = await openJetStreamBus<PartitionItem>({
    connection: nc,
    mesh,
    partitions,
    idOf: (item) => (item.kind === 'root' ? item.message.id : undefined),
    // Packed as a node packs what it publishes.
    maxItemsPerMessage: ITEMS_PER_MESSAGE,
    onError: (err) => process.stderr.write(`feeder: ${String(err)}\n`),
  });
  const waiting = new Map<number, () => void>();
  let decided = 0;
  let failed = 0;
  const replies = openNatsReplies({
    connection: nc,
    mesh,
    node: FEEDER,
    settle: (ticket, outcome) => {
      outcome.then(
        () => decided++,
        () => failed++,
      );
      waiting.get(ticket)?.();
      waiting.delete(ticket);
    },
    onError: (err) => process.stderr.write(`feeder reply: ${String(err)}\n`),
  });
  let ticket = 0;
  let stopped = false;
  let wake: (() => void) | undefined;
  return {
    async feed(pipelines, { inFlight, entities, replyTimeoutMs = 30_000 }) {
      stopped = false;
      let slots = inFlight;
      const free = () => {
        slots++;
        wake?.();
      };
      let sent = 0;
      for (; sent < pipelines && !stopped; sent++) {
        while (slots === 0 && !stopped) await new Promise<void>((resolve) => (wake = resolve));
        if (stopped) break;
        slots--;
        const t = ++ticket;
        const subject = `entity:${sent % entities}`;
        const timer = setTimeout(() => {
          if (waiting.delete(t)) free();
        }, replyTimeoutMs);
        waiting.set(t, () => {
          clearTimeout(timer);
          free();
        });
        const item: PartitionItem = {
          kind: 'root',
          ticket: t,
          from: FEEDER,
          batchReply: true,
          ingress: 'feed',
          message: { type: 'step.one.v1', subject, data: { value: sent }, id: randomUUID() },
        };
        bus.publish(partitionOf(subject, partitions), item).catch((err: unknown) => {
          process.stderr.write(`feeder publish: ${String(err)}\n`);
          waiting.get(t)?.();
          waiting.delete(t);
        });
      }
      return sent;
    },
    stop() {
      stopped = true;
      wake?.();
    },
    decided: () => decided + failed,
    async close() {
      for (const done of waiting.values()) done();
      await replies.close();
      // The bus's close waits for items of partitions it consumes: it consumes none.
      await bus.close();
    },
  };
}
