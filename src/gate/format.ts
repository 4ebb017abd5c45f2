/** Small formatters for verdict sentences and issue pointers. */

/** `86400000` → `24h`, `90000` → `1.5min`, `250` → `250ms`: close to how mesh.yaml writes it. */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}min`;
  if (ms >= 60_000) return `${Math.round(ms / 6000) / 10}min`;
  if (ms >= 1000) return `${Math.round(ms / 100) / 10}s`;
  return `${Math.round(ms)}ms`;
}

/** RFC 6901 JSON pointer from a path array. */
export function toPointer(path: readonly (string | number)[]): string {
  let out = '';
  for (const token of path) out += `/${String(token).replaceAll('~', '~0').replaceAll('/', '~1')}`;
  return out;
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
