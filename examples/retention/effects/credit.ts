import { defineEffect } from 'meshwarden';

export default defineEffect({
  execute(request, ctx) {
    const { amount, currency } = request.data as { amount: number; currency: string };
    ctx.log.info({ subject: request.subject, amount, currency }, 'credit issued');
    // The request id is the idempotency key a real billing API would be given.
    return { creditId: `cr_${request.id.slice(-12)}`, amount, currency };
  },
});
