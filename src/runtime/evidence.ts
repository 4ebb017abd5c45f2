import { createHash } from 'node:crypto';
import { sha256 } from '../envelope/index.js';

// What the ledger keeps of refused input: never the whole of it. The ledger is append-only, so
// storing whatever arrived would let anyone fill the disk; a bounded prefix with the size and the
// SHA-256 of the whole still matches the original, byte for byte, when someone holds it.

/** Bytes of refused input kept in the ledger (`raw`); the rest is only counted and hashed. */
export const PREFIX_BYTES = 4096;

/**
 * Evidence of refused input: `prefix` is its first (at most {@link PREFIX_BYTES}) bytes as text, cut
 * at a character boundary (bytes that are not UTF-8 show as U+FFFD); `bytes` is the size of the
 * whole and `sha256` (`sha256:<hex>`) the hash of all of it, as it arrived.
 */
export type RawEvidence = { readonly prefix: string; readonly bytes: number; readonly sha256: string };

export function isRawEvidence(value: unknown): value is RawEvidence {
  const v = value as Partial<RawEvidence> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.prefix === 'string' &&
    typeof v.bytes === 'number' &&
    typeof v.sha256 === 'string'
  );
}

/**
 * Evidence of input held in memory: bytes as they arrived, or text (hashed as its UTF-8; a lone
 * surrogate counts as U+FFFD, as the encoder writes it).
 */
export function evidenceOf(raw: string | Uint8Array | RawEvidence): RawEvidence {
  if (isRawEvidence(raw)) return bounded(raw);
  if (typeof raw === 'string') {
    // Only the head is encoded to find the prefix: the text may be the JSON of a huge envelope.
    const head = Buffer.from(raw.slice(0, PREFIX_BYTES + 1), 'utf8');
    return { prefix: prefixText(head), bytes: Buffer.byteLength(raw, 'utf8'), sha256: sha256(raw) };
  }
  return { prefix: prefixText(raw), bytes: raw.byteLength, sha256: sha256(raw) };
}

/** Bounds evidence a caller built (its prefix may be longer than the ledger keeps). */
function bounded(e: RawEvidence): RawEvidence {
  if (e.prefix.length <= PREFIX_BYTES / 4 || Buffer.byteLength(e.prefix) <= PREFIX_BYTES) {
    return { prefix: e.prefix.toWellFormed(), bytes: e.bytes, sha256: e.sha256 };
  }
  return { prefix: prefixText(Buffer.from(e.prefix, 'utf8')), bytes: e.bytes, sha256: e.sha256 };
}

/** Evidence of input too large to hold: fed chunk by chunk, it keeps only the prefix and a running hash. */
export type EvidenceBuilder = {
  update(chunk: Uint8Array): void;
  finish(): RawEvidence;
};

export function createEvidenceBuilder(): EvidenceBuilder {
  const hash = createHash('sha256');
  // One byte more than is kept, so the prefix knows whether it cuts a character.
  const head = Buffer.alloc(PREFIX_BYTES + 1);
  let kept = 0;
  let total = 0;
  return {
    update(chunk) {
      if (kept < head.byteLength) {
        const take = Math.min(head.byteLength - kept, chunk.byteLength);
        head.set(chunk.subarray(0, take), kept);
        kept += take;
      }
      total += chunk.byteLength;
      hash.update(chunk);
    },
    finish() {
      return {
        prefix: prefixText(head.subarray(0, kept)),
        bytes: total,
        sha256: `sha256:${hash.digest('hex')}`,
      };
    },
  };
}

/** The first {@link PREFIX_BYTES} bytes as well-formed text, never ending in a cut character. */
function prefixText(bytes: Uint8Array): string {
  if (bytes.byteLength <= PREFIX_BYTES) return Buffer.from(bytes).toString('utf8').toWellFormed();
  let end = PREFIX_BYTES;
  // Back off continuation bytes (10xxxxxx) so a multi-byte character is not cut in two.
  for (let i = 0; i < 3 && (bytes[end]! & 0xc0) === 0x80; i++) end--;
  return Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8').toWellFormed();
}
