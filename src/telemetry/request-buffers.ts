/**
 * Buffers for encoded span export requests, used again once their export is answered. A batch of
 * 512 decision spans is about 340 KB: a fresh buffer of that size for each batch cost more than the
 * encoding's copy into it (pages zeroed and faulted in, then garbage for the collector).
 */
export type RequestBuffers = {
  /** A copy of `bytes` in one of the pool's buffers: the caller's until it gives it back. */
  copyOf(bytes: Uint8Array): Uint8Array;
  /**
   * Takes back a buffer `copyOf` made, once nothing reads it any more (its export was answered);
   * anything else is ignored.
   */
  giveBack(bytes: Uint8Array): void;
};

/** The smallest buffer made; a larger one is the next power of two. */
const SMALLEST = 1 << 16;
/** A buffer larger than this (a batch of long details) is not kept, as the writer keeps none. */
const LARGEST_KEPT = 1 << 22;

/** At most `keep` idle buffers are kept; those in flight are the exports' own. */
export function createRequestBuffers(keep = 8): RequestBuffers {
  const idle: ArrayBuffer[] = [];
  const made = new WeakSet<ArrayBuffer>();
  return {
    copyOf(bytes) {
      const i = idle.findIndex((b) => b.byteLength >= bytes.length);
      let buffer: ArrayBuffer;
      if (i >= 0) {
        buffer = idle[i]!;
        idle.splice(i, 1);
      } else {
        buffer = new ArrayBuffer(Math.max(SMALLEST, 2 ** Math.ceil(Math.log2(bytes.length))));
        made.add(buffer);
      }
      const copy = new Uint8Array(buffer, 0, bytes.length);
      copy.set(bytes);
      return copy;
    },
    giveBack(bytes) {
      const { buffer } = bytes;
      if (!(buffer instanceof ArrayBuffer) || !made.has(buffer) || idle.includes(buffer)) return;
      if (idle.length < keep && buffer.byteLength <= LARGEST_KEPT) idle.push(buffer);
    },
  };
}
