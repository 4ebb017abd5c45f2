import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evidenceOf } from './evidence.js';
import { type FileLine, readLines } from './lines.js';

const dir = mkdtempSync(join(tmpdir(), 'meshwarden-lines-'));
let n = 0;
async function linesOf(content: string | Buffer, limit = 100): Promise<(string | object)[]> {
  const file = join(dir, `f${n++}.jsonl`);
  writeFileSync(file, content);
  const out: (string | object)[] = [];
  for await (const l of readLines(file, () => limit)) out.push(show(l));
  return out;
}
const show = (l: FileLine) =>
  'bytes' in l ? `${l.line}:${l.bytes.toString('latin1')}` : { line: l.line, ...l.oversized };

describe('readLines', () => {
  it.each([
    ['LF lines', 'a\nb\n', ['1:a', '2:b']],
    ['no newline at the end', 'a\nb', ['1:a', '2:b']],
    ['CRLF lines', 'a\r\nb\r\n', ['1:a', '2:b']],
    ['blank lines are lines', 'a\n\n\nb\n', ['1:a', '2:', '3:', '4:b']],
    ['a lone CR stays in its line', 'a\rb\n', ['1:a\rb']],
    ['an empty file', '', []],
  ])('splits %s', async (_what, content, expected) => {
    expect(await linesOf(content)).toEqual(expected);
  });

  it('splits lines across read chunks', async () => {
    const long = 'x'.repeat(70_000);
    expect(await linesOf(`${long}\r\nb\n`, 100_000)).toEqual([`1:${long}`, '2:b']);
  });

  it('gives evidence for a line over the limit and goes on with the next line', async () => {
    const big = `{"data":"${'é'.repeat(200_000)}"}`;
    const out = await linesOf(`a\n${big}\r\nc\n`, 1000);
    expect(out).toEqual(['1:a', { line: 2, ...evidenceOf(big) }, '3:c']);
  });

  it('hashes a CR inside an oversized line, drops the one before LF, across chunk edges', async () => {
    // 64 KiB chunks: the CR falls at the end of the first chunk, and the next byte is not LF.
    const line = Buffer.concat([Buffer.alloc(65_535, 0x61), Buffer.from('\rzz')]);
    const out = await linesOf(Buffer.concat([line, Buffer.from('\r\nok')]), 1000);
    const sha = `sha256:${createHash('sha256').update(line).digest('hex')}`;
    expect(out).toEqual([{ line: 1, prefix: 'a'.repeat(4096), bytes: line.byteLength, sha256: sha }, '2:ok']);
  });

  it('allows a line of exactly the limit, with or without CR', async () => {
    expect(await linesOf(`${'a'.repeat(10)}\r\n${'b'.repeat(10)}\n`, 10)).toEqual([
      `1:${'a'.repeat(10)}`,
      `2:${'b'.repeat(10)}`,
    ]);
  });
});
