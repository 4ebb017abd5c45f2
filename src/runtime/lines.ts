import { open } from 'node:fs/promises';
import { createEvidenceBuilder, type EvidenceBuilder, type RawEvidence } from './evidence.js';

/**
 * One line of a JSON Lines file, without its line ending (`\n` or `\r\n`): its bytes, or, for a
 * line longer than the limit, only evidence of it (the line was never held whole).
 */
export type FileLine =
  | { readonly line: number; readonly bytes: Buffer }
  | { readonly line: number; readonly oversized: RawEvidence };

const LF = 0x0a;
const CR = 0x0d;
const CR_BYTE = Buffer.from([CR]);

/**
 * Splits a file into lines as bytes, streaming: memory stays at one read buffer (64 KiB, reused)
 * plus one line of at most `limit()` bytes, whatever the file holds. A longer line is counted and
 * hashed as it streams by and comes out as evidence (its first 4 KiB, size, SHA-256). Lines end at
 * `\n`; a `\r` right before it is dropped. `break` closes the file.
 */
export async function* readLines(file: string, limit: () => number): AsyncGenerator<FileLine> {
  const handle = await open(file, 'r');
  // One buffer, read into again and again: a stream would allocate a new chunk per read, and a
  // gigabyte of garbage chunks grows the process by tens of MB before it is collected.
  const chunk = Buffer.allocUnsafe(64 * 1024);
  let parts: Buffer[] = [];
  let size = 0;
  let big: EvidenceBuilder | undefined;
  // In a line being hashed, a trailing `\r` waits for the next byte: dropped if it is `\n`.
  let pendingCr = false;
  let line = 0;

  const feed = (b: EvidenceBuilder, piece: Buffer) => {
    if (piece.byteLength === 0) return;
    if (pendingCr) b.update(CR_BYTE);
    pendingCr = piece[piece.byteLength - 1] === CR;
    b.update(pendingCr ? piece.subarray(0, -1) : piece);
  };
  const take = (piece: Buffer) => {
    if (big !== undefined) return feed(big, piece);
    // Copied: the read buffer is overwritten by the next read.
    parts.push(Buffer.from(piece));
    size += piece.byteLength;
    // One byte of slack for the `\r` of a CRLF line, which is not part of it.
    if (size > limit() + 1) {
      big = createEvidenceBuilder();
      for (const p of parts) feed(big, p);
      parts = [];
      size = 0;
    }
  };
  const finish = (): FileLine => {
    line++;
    if (big !== undefined) {
      const oversized = big.finish();
      big = undefined;
      pendingCr = false;
      return { line, oversized };
    }
    let bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    if (bytes[bytes.byteLength - 1] === CR) bytes = bytes.subarray(0, -1);
    parts = [];
    size = 0;
    return { line, bytes };
  };

  try {
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.byteLength, null);
      if (bytesRead === 0) break;
      const read = chunk.subarray(0, bytesRead);
      let start = 0;
      for (;;) {
        const nl = read.indexOf(LF, start);
        if (nl < 0) {
          if (start < bytesRead) take(read.subarray(start));
          break;
        }
        if (nl > start) take(read.subarray(start, nl));
        yield finish();
        start = nl + 1;
      }
    }
    if (size > 0 || big !== undefined) yield finish();
  } finally {
    await handle.close();
  }
}
