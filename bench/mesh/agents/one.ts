import { defineAgent } from 'meshwarden';

export default defineAgent({
  handle(msg, ctx) {
    ctx.emit('step.two.v1', { value: Number((msg.data as { value: number }).value) + 1 });
  },
});
