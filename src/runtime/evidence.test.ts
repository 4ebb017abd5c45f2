import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createEvidenceBuilder, evidenceOf, PREFIX_BYTES } from './evidence.js';

const hex = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('evidence of refused input', () => {
  it.each([
    ['short text, kept whole', 'hello', 'hello'],
    ['empty', '', ''],
    ['long text, cut to the prefix', 'a'.repeat(10_000), 'a'.repeat(PREFIX_BYTES)],
    // 'é' is 2 bytes: 4095 bytes of 'a' then 'é' straddles the cut, so it is left out.
    [
      'a character across the cut',
      `${'a'.repeat(PREFIX_BYTES - 1)}é${'b'.repeat(10)}`,
      'a'.repeat(PREFIX_BYTES - 1),
    ],
    // '𝄞' is 4 bytes: starting 2 bytes before the cut.
    ['a 4-byte character across the cut', `${'a'.repeat(PREFIX_BYTES - 2)}𝄞zz`, 'a'.repeat(PREFIX_BYTES - 2)],
  ])('%s', (_what, text, prefix) => {
    const e = evidenceOf(text);
    expect(e).toEqual({ prefix, bytes: Buffer.byteLength(text), sha256: hex(text) });
    // Bytes and text give the same evidence.
    expect(evidenceOf(Buffer.from(text))).toEqual(e);
  });

  it('hashes a lone surrogate in text as U+FFFD, as the UTF-8 encoder writes it', () => {
    expect(evidenceOf('a\ud800b')).toEqual(evidenceOf(Buffer.from('a\ufffdb')));
  });

  it('hashes bytes that are not UTF-8 as they are, showing them as U+FFFD', () => {
    const bytes = Buffer.from([0x7b, 0xff, 0x7d]);
    expect(evidenceOf(bytes)).toEqual({ prefix: '{\ufffd}', bytes: 3, sha256: hex(bytes) });
  });

  it('builds the same evidence chunk by chunk as in one piece, whatever the chunk size', () => {
    const text = Buffer.from(`${'é'.repeat(3000)}${'x'.repeat(5000)}`);
    for (const step of [1, 7, 4096, 4097, 100_000]) {
      const b = createEvidenceBuilder();
      for (let i = 0; i < text.byteLength; i += step) b.update(text.subarray(i, i + step));
      expect(b.finish()).toEqual(evidenceOf(text));
    }
  });

  it('bounds evidence a caller built with a prefix longer than the ledger keeps', () => {
    const e = evidenceOf({ prefix: 'z'.repeat(1_000_000), bytes: 2_000_000, sha256: 'sha256:00' });
    expect(e).toEqual({ prefix: 'z'.repeat(PREFIX_BYTES), bytes: 2_000_000, sha256: 'sha256:00' });
  });
});
