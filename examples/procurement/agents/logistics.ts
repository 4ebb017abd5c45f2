import { defineAgent } from 'meshwarden';

/** Logistics: an order purchasing cut is cancelled with the carrier (an effect). */
export default defineAgent({
  handle(msg, ctx) {
    const { order, cut } = msg.data as { order: string; cut: boolean };
    if (cut) ctx.effect('order.cancel', { order, reason: 'budget cut' });
  },
});
