import { sharesOf } from '../../policy/index.js';
import { budgetKey, windowAdd, windowSum } from '../../state/index.js';
import { type Stage, scopeKeyOf, verdict } from '../context.js';
import { formatDuration, numberAt, shareText } from '../format.js';

/**
 * Stage 6, budgets: windowed sums of a numeric field. Stops: quarantine `budget.field_not_number`,
 * `budget.negative_value` (a negative amount would refill the budget); deny `budget.exceeded`.
 * Agent-, edge- and mesh-scoped budgets are split across partitions: each enforces its share of `max`.
 */
export const budgetStage: Stage = {
  name: 'budget',
  run(ctx, out) {
    const env = ctx.envelope;
    const budgets = ctx.index.budgets.get(env.type);
    if (budgets === undefined) return undefined;
    const { state, now } = ctx;
    for (const budget of budgets) {
      const value = numberAt(env.data, budget.fieldPath);
      if (value === undefined) {
        return verdict(
          'quarantine',
          'budget',
          'budget.field_not_number',
          `${budget.id}: ${env.type} must carry a number at ${budget.field}, and this one does not.`,
          budget.id,
        );
      }
      if (value < 0) {
        return verdict(
          'quarantine',
          'budget',
          'budget.negative_value',
          `${budget.id}: ${budget.field} is ${value}; a budgeted amount cannot be negative.`,
          budget.id,
        );
      }
      const scopeKey = scopeKeyOf(budget.scope, ctx.sourceName, env);
      const key = budgetKey(budget.id, scopeKey);
      const window = state.window(key);
      const total = windowSum(window, now) + value;
      const shares = sharesOf(ctx.policy, budget.scope);
      const max = budget.max / shares;
      if (total > max) {
        const share = shares > 1 ? shareText(shares, 'enforces', String(budget.max)) : '';
        return verdict(
          'deny',
          'budget',
          'budget.exceeded',
          `${budget.id}: ${total} of ${max}${share} in ${formatDuration(budget.windowMs)} for ${scopeKey}.`,
          budget.id,
        );
      }
      out.accounting.push({ key, kind: 'window', state: windowAdd(window, now, budget.windowMs, value) });
    }
    return undefined;
  },
};
