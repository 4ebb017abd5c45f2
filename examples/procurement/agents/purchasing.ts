import { defineAgent } from 'meshwarden';

/** Purchasing: a line cut by 2 % or more has its open order cut; anything else keeps it. */
export default defineAgent({
  handle(msg, ctx) {
    const { line, deltaPct } = msg.data as { line: string; deltaPct: number };
    ctx.emit('order.revised.v1', { line, order: `po-${line}`, cut: deltaPct >= 2 });
  },
});
