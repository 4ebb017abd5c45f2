import { defineAgent } from 'meshwarden';

export default defineAgent({
  handle(msg, ctx) {
    const { items, risk } = msg.data as { items: number; risk: string };
    if (risk === 'low') ctx.effect('shipment.create', { items });
  },
});
