import { sharesOf } from '../../policy/index.js';
import { bucketKey, takeToken } from '../../state/index.js';
import { type Stage, scopeKeyOf, verdict } from '../context.js';
import { formatDuration, shareText } from '../format.js';

/**
 * Stage 5, rate limits: one GCRA bucket per (limit, scope key). Agent-, edge- and mesh-scoped limits are
 * split across partitions: each partition enforces its share. Stop: deny `rate-limit.exceeded`.
 */
export const rateLimitStage: Stage = {
  name: 'rate-limit',
  run(ctx, out) {
    const env = ctx.envelope;
    const { policy, state, now } = ctx;
    for (const limit of policy.limits) {
      const m = limit.match;
      if (
        m !== undefined &&
        ((m.type !== undefined && m.type !== env.type) ||
          (m.source !== undefined && m.source !== ctx.sourceName) ||
          (m.target !== undefined && m.target !== env.target))
      ) {
        continue;
      }
      const split = sharesOf(policy, limit.scope) > 1;
      const intervalMs = split ? limit.intervalMs * policy.partitions : limit.intervalMs;
      const burst = split ? Math.max(1, Math.floor(limit.burst / policy.partitions)) : limit.burst;
      const scopeKey = scopeKeyOf(limit.scope, ctx.sourceName, env);
      const key = bucketKey(limit.id, scopeKey);
      const taken = takeToken(state.bucket(key), now, intervalMs, burst);
      if (!taken.ok) {
        const share = split ? shareText(policy.partitions, 'enforces', limit.rate) : '';
        return verdict(
          'deny',
          'rate-limit',
          'rate-limit.exceeded',
          `${limit.id}: more than ${limit.rate}${share} for ${limit.scope} ${scopeKey}; next allowed in ${formatDuration(taken.retryAfterMs)}.`,
          limit.id,
        );
      }
      out.accounting.push({ key, kind: 'bucket', state: taken.state });
    }
    return undefined;
  },
};
