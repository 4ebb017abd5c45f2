import { defineEffect } from 'meshwarden';

export default defineEffect({
  execute(request, ctx) {
    const { order } = request.data as { order: string };
    ctx.log.info({ subject: request.subject, order }, 'order cancelled');
    return { cancelled: order };
  },
});
