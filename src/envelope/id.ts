import { HEX } from './hex.js';

/** The last timestamp formatted, and its first 14 characters (48 bits of ms, dashes included). */
let lastMs = -1;
let lastPrefix = '';

/**
 * Formats a UUIDv7 (RFC 9562) from a millisecond timestamp and 10 random bytes.
 * Pure: the caller brings the clock and the randomness. Ids made in the same millisecond share
 * their timestamp text, which is formatted once.
 */
export function formatUuidV7(ms: number, random: Uint8Array): string {
  if (random.length < 10) throw new RangeError('formatUuidV7 needs 10 random bytes');
  let t = Math.max(0, Math.floor(ms));
  if (!Number.isFinite(t)) t = 0;
  if (t !== lastMs) {
    // The low 48 bits, as 12 hex digits (a timestamp past 2^48 ms keeps its low bits, as before).
    const digits = (t % 2 ** 48).toString(16).padStart(12, '0');
    lastPrefix = `${digits.slice(0, 8)}-${digits.slice(8)}-`;
    lastMs = t;
  }
  const r = random;
  return (
    `${lastPrefix}${HEX[0x70 | (r[0]! & 0x0f)]}${HEX[r[1]!]}-${HEX[0x80 | (r[2]! & 0x3f)]}${HEX[r[3]!]}-` +
    `${HEX[r[4]!]}${HEX[r[5]!]}${HEX[r[6]!]}${HEX[r[7]!]}${HEX[r[8]!]}${HEX[r[9]!]}`
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
