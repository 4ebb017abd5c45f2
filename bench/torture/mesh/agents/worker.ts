import { defineAgent } from 'meshwarden';

export default defineAgent({
  handle(msg, ctx) {
    const { amount } = msg.data as { amount: number };
    ctx.effect('pay.send', { amount });
  },
});
