import { defineAgent } from 'meshwarden';

export default defineAgent({
  handle(msg, ctx) {
    ctx.emit('step.three.v1', { value: Number((msg.data as { value: number }).value) * 2 });
  },
});
