import { defineAgent } from 'meshwarden';
import { adjust } from './optimizer.ts';

/** Optimizer 2.1.0: the same model, retuned; every proposal is one point higher. Nobody noticed. */
export default defineAgent({
  handle(msg, ctx) {
    const { line, utilisation } = msg.data as { line: string; utilisation: number };
    ctx.emit('budget.adjusted.v1', { line, deltaPct: Math.round((adjust(utilisation) + 1) * 100) / 100 });
  },
});
