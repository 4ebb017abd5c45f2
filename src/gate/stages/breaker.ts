import { overShare, sharesOf } from '../../policy/index.js';
import {
  breakerCountKey,
  breakerKey,
  breakerOpenAt,
  openedBreaker,
  windowAdd,
  windowSum,
} from '../../state/index.js';
import { type Stage, scopeKeyOf, verdict } from '../context.js';
import { formatDuration, shareText } from '../format.js';

/**
 * Stage 7, breakers. An open breaker on one of the message's keys stops it: hold `breaker.frozen`
 * (freeze) or deny `breaker.open`; one whose cooldown has passed is closed (a breaker-close delta).
 * Then counting: the message that would be one more than `over` trips the breaker, `breaker.tripped`
 * (hold for freeze, deny for deny). Agent-, edge- and mesh-scoped counts are split across partitions:
 * each trips past its share of `over`.
 */
export const breakerStage: Stage = {
  name: 'breaker',
  run(ctx, out) {
    const env = ctx.envelope;
    const { state, now } = ctx;
    for (const check of ctx.index.breakerChecks) {
      const scopeKey = scopeKeyOf(check.scope, ctx.sourceName, env);
      const key = breakerKey(check.id, scopeKey);
      const open = state.breaker(key);
      if (open === undefined) continue;
      if (!breakerOpenAt(open, now)) {
        out.always.push({ kind: 'breaker-close', key });
        continue;
      }
      if (ctx.input.release === true) continue; // a pilot let this one through
      // A time, not an age: the sentence is read long after the decision (holds, `why`, the console).
      const since = `opened at ${new Date(open.openedAt).toISOString()} by ${open.by}`;
      return open.action === 'freeze'
        ? verdict(
            'hold',
            'breaker',
            'breaker.frozen',
            `${check.id}: ${scopeKey} is frozen (${since}); the message waits for a pilot.`,
            check.id,
          )
        : verdict(
            'deny',
            'breaker',
            'breaker.open',
            `${check.id}: the breaker for ${scopeKey} is open (${since}); the message is denied.`,
            check.id,
          );
    }
    const rules = ctx.index.countRules.get(env.type);
    if (rules === undefined) return undefined;
    for (const rule of rules) {
      const scopeKey = scopeKeyOf(rule.scope, ctx.sourceName, env);
      const countKey = breakerCountKey(rule.id, scopeKey);
      const window = state.window(countKey);
      const count = windowSum(window, now) + 1;
      const shares = sharesOf(ctx.policy, rule.scope);
      const over = overShare(rule.over, shares);
      // A released message is counted, but does not trip the breaker that held it once more.
      if (count > over && ctx.input.release !== true) {
        out.always.push({
          kind: 'breaker-open',
          key: breakerKey(rule.id, scopeKey),
          state: openedBreaker(rule, now),
        });
        const what = `${rule.id}: ${count} ${rule.count} in ${formatDuration(rule.windowMs)} for ${scopeKey}, over ${over}${shares > 1 ? shareText(shares, 'trips past', String(rule.over)) : ''}; the breaker is open`;
        const until =
          rule.cooldownMs === undefined
            ? 'until a pilot resets it'
            : `for ${formatDuration(rule.cooldownMs)}`;
        return rule.action === 'freeze'
          ? verdict(
              'hold',
              'breaker',
              'breaker.tripped',
              `${what} and ${scopeKey} is frozen ${until}.`,
              rule.id,
            )
          : verdict('deny', 'breaker', 'breaker.tripped', `${what} and denies ${until}.`, rule.id);
      }
      out.accounting.push({ key: countKey, kind: 'window', state: windowAdd(window, now, rule.windowMs, 1) });
    }
    return undefined;
  },
};
