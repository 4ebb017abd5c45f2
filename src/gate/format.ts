/** Small formatters for verdict sentences. */

/**
 * `86400000` → `24h`, `120000` → `2min`, `90000` → `90s`, `250` → `250ms`: as mesh.yaml writes it
 * (a part of a minute in seconds: `1.2min` for 70 s read as a misprint beside `35 s`).
 */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}min`;
  if (ms >= 1000) return `${Math.round(ms / 100) / 10}s`;
  return `${Math.round(ms)}ms`;
}

/** What follows the first of `count` issues in a sentence: ``, ` (and 1 more problem)`, ` (and 2 more problems)`. */
export function moreProblems(count: number): string {
  const more = count - 1;
  if (more <= 0) return '';
  return more === 1 ? ' (and 1 more problem)' : ` (and ${more} more problems)`;
}

/** The number at a path into data, or undefined when missing or not a finite number. */
export function numberAt(data: unknown, path: readonly string[]): number | undefined {
  let at: unknown = data;
  for (const token of path) {
    if (Array.isArray(at)) at = /^(0|[1-9]\d*)$/.test(token) ? at[Number(token)] : undefined;
    else if (at !== null && typeof at === 'object' && Object.hasOwn(at, token))
      at = (at as Record<string, unknown>)[token];
    else return undefined;
  }
  return typeof at === 'number' && Number.isFinite(at) ? at : undefined;
}

/**
 * How a refusal says it met one partition's share of a limit, the same way for rate limits, budgets
 * and breakers: ` (each of 4 partitions enforces 1/4 of 2/h)`.
 */
export function shareText(partitions: number, does: 'enforces' | 'trips past', whole: string): string {
  return ` (each of ${partitions} partitions ${does} 1/${partitions} of ${whole})`;
}
