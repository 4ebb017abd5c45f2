/** Durations and rates as mesh.yaml writes them. Pure; `undefined` means "not valid". */

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION = /^([1-9]\d*)(ms|s|m|min|h|d)$/;
const RATE = /^([1-9]\d*)\/(s|min|h|d)$/;

/** `500ms`, `30s`, `10m` (or `10min`), `1h`, `24h`, `7d` → milliseconds. Zero is not a duration. */
export function parseDuration(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  return Number.isSafeInteger(ms) ? ms : undefined;
}

export type Rate = { readonly count: number; readonly perMs: number };

/** `30/min` → 30 per 60,000 ms. Units: s, min, h, d. */
export function parseRate(text: unknown): Rate | undefined {
  if (typeof text !== 'string') return undefined;
  const m = RATE.exec(text.trim());
  if (!m) return undefined;
  const count = Number(m[1]);
  return Number.isSafeInteger(count) ? { count, perMs: UNIT_MS[m[2]!]! } : undefined;
}
