import { defineAgent } from 'meshwarden';

export default defineAgent({
  handle(msg, ctx) {
    const { items, total } = msg.data as { items: number; total: number };
    ctx.emit('order.screened.v1', { items, risk: total > 5000 ? 'high' : 'low' });
  },
});
