import { type Stage, verdict } from '../context.js';
import { formatDuration } from '../format.js';

/**
 * Stage 8, approvals: the first rule whose CEL predicate holds keeps the message for a pilot.
 * Stops: hold `approval.required`; hold `approval.predicate_error` when a predicate cannot be
 * evaluated (fail safe: a human decides).
 */
export const approvalStage: Stage = {
  name: 'approval',
  run(ctx) {
    if (ctx.input.release === true) return undefined; // the releasing pilot is the approver
    const env = ctx.envelope;
    for (const rule of ctx.policy.approvals) {
      let result: unknown;
      try {
        result = rule.test(env);
      } catch (err) {
        // The compiled predicate returns its errors; a throw is a bug there, handled the same way.
        result = err instanceof Error ? err : new Error('the predicate threw a non-error value');
      }
      if (result === false) continue;
      const onTimeout = rule.onTimeout === 'deny' ? 'denied' : 'delivered';
      if (result === true) {
        return verdict(
          'hold',
          'approval',
          'approval.required',
          `${rule.id}: ${rule.when} holds, so a pilot must approve; without a decision in ${formatDuration(rule.timeoutMs)} it is ${onTimeout}.`,
          rule.id,
        );
      }
      const why = result instanceof Error ? result.message : 'it did not return true or false';
      return verdict(
        'hold',
        'approval',
        'approval.predicate_error',
        `${rule.id}: ${rule.when} could not be evaluated (${why}), so a pilot must decide; without a decision in ${formatDuration(rule.timeoutMs)} it is ${onTimeout}.`,
        rule.id,
      );
    }
    return undefined;
  },
};
