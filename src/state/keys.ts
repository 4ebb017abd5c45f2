/** State keys. One place builds them so the gate, the runtime and pilot actions agree. */

/** The breaker id of a freeze opened by the loop guard. */
export const LOOP_BREAKER = 'loop';
/** The breaker id of a freeze opened by a pilot (`meshwarden freeze <subject>`). */
export const PILOT_BREAKER = 'pilot';

export function bucketKey(limitId: string, scopeKey: string): string {
  return `rl|${limitId}|${scopeKey}`;
}

export function budgetKey(budgetId: string, scopeKey: string): string {
  return `bg|${budgetId}|${scopeKey}`;
}

export function breakerCountKey(breakerId: string, scopeKey: string): string {
  return `bc|${breakerId}|${scopeKey}`;
}

export function breakerKey(breakerId: string, scopeKey: string): string {
  return `br|${breakerId}|${scopeKey}`;
}

/** Splits a breaker key back into its breaker id and scope key. */
export function parseBreakerKey(key: string): { readonly id: string; readonly scopeKey: string } | undefined {
  if (!key.startsWith('br|')) return undefined;
  const bar = key.indexOf('|', 3);
  if (bar < 0) return undefined;
  return { id: key.slice(3, bar), scopeKey: key.slice(bar + 1) };
}

/** Splits a breaker count key back into its breaker id and scope key. */
export function parseBreakerCountKey(
  key: string,
): { readonly id: string; readonly scopeKey: string } | undefined {
  return key.startsWith('bc|') ? parseBreakerKey(`br|${key.slice(3)}`) : undefined;
}
