import { defineAgent } from 'meshwarden';

/** Optimizer 2.0.0: proposes a budget cut (percent, negative for a raise) from a line's utilisation. */
export function adjust(utilisation: number): number {
  return Math.round((1 - utilisation) * 400) / 100;
}

export default defineAgent({
  handle(msg, ctx) {
    const { line, utilisation } = msg.data as { line: string; utilisation: number };
    ctx.emit('budget.adjusted.v1', { line, deltaPct: adjust(utilisation) });
  },
});
