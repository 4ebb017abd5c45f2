import { defineEffect } from 'meshwarden';

export default defineEffect({
  execute(request, ctx) {
    ctx.log.info({ subject: request.subject }, 'shipment created');
    // request.id is the idempotency key to hand a real carrier API.
    return { shipment: `sh_${request.id.slice(-12)}` };
  },
});
