import { defineAgent } from 'meshwarden';

export default defineAgent({
  handle(msg, ctx) {
    const score = Number((msg.data as { score?: unknown }).score ?? 0);
    const probability = Math.round((0.5 - score / 2) * 100) / 100;
    ctx.emit('churn.assessed.v1', { probability });
  },
});
