import { describe, expect, it } from 'vitest';
import { decodeLine, firstInvalidUtf8, inputLineLimit, isRejected, parseInputLine } from './input.js';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('input lines as bytes', () => {
  it.each([
    ['ASCII', bytes('{"a":1}'), 7],
    ['two-byte characters', bytes('é€𝄞'), 9],
    ['a stray continuation byte', bytes('ab', [0x80], 'c'), 2],
    ['an overlong encoding', bytes('a', [0xc0, 0xaf]), 1],
    ['a truncated sequence at the end', bytes('ab', [0xe2, 0x82]), 2],
    ['a truncated sequence before ASCII', bytes('é', [0xe2], 'x'), 2],
    ['an encoded surrogate', bytes('x', [0xed, 0xa0, 0x80]), 1],
    ['over U+10FFFF', bytes([0xf4, 0x90, 0x80, 0x80]), 0],
    ['0xFF', bytes('{', [0xff]), 1],
  ])('finds the first invalid byte: %s', (_what, input, at) => {
    expect(firstInvalidUtf8(input)).toBe(at);
  });

  it('decodes UTF-8 and skips a byte-order mark opening the file only', () => {
    expect(decodeLine(bytes([0xef, 0xbb, 0xbf], '{}'), 'f', 1)).toBe('{}');
    expect(decodeLine(bytes([0xef, 0xbb, 0xbf], '{}'), 'f', 2)).toBe('\ufeff{}');
    expect(decodeLine(bytes('{"t":"é"}'), 'f', 3)).toBe('{"t":"é"}');
  });

  it.each([
    ['a bad byte after ASCII', bytes('{"t":"', [0xff], '"}'), 'in.jsonl:4:7'],
    // Columns count characters: 'é' is two bytes and one column.
    ['a bad byte after a two-byte character', bytes('{"t":"é', [0xc3, 0x28], '"}'), 'in.jsonl:4:8'],
    ['a bad first byte', bytes([0x80]), 'in.jsonl:4:1'],
  ])('quarantines invalid UTF-8 with its location: %s', (_what, input, location) => {
    const r = decodeLine(input, 'in.jsonl', 4);
    if (typeof r === 'string') throw new Error('decoded invalid UTF-8');
    expect(isRejected({ ...r })).toBe(true);
    expect(r).toMatchObject({ reason: 'ingress.invalid_utf8', location, raw: input });
  });

  it('counts a byte-order mark in the column of line 1', () => {
    const r = decodeLine(bytes([0xef, 0xbb, 0xbf], 'ab', [0xff]), 'f', 1);
    expect(r).toMatchObject({ reason: 'ingress.invalid_utf8', location: 'f:1:4' });
  });

  it.each([
    [65_536, 262_144],
    [1_000, 65_536],
    [10_000_000, 40_000_000],
  ])('reads lines whole up to 4 × maxBytes, at least 64 KiB (maxBytes %i)', (maxBytes, limit) => {
    expect(inputLineLimit(maxBytes)).toBe(limit);
  });
});

const line = (extra: object) =>
  JSON.stringify({ source: 'hooks', type: 'deploy.finished.v1', subject: 'service:api', data: {}, ...extra });

describe('parseInputLine: causationid', () => {
  it('passes a causationid through, for the gate to check', () => {
    const parsed = parseInputLine(
      line({ causationid: '01972b5c-ee00-7000-8000-00000000e001' }),
      'in.jsonl',
      3,
    );
    expect(parsed !== undefined && !isRejected(parsed) && parsed.causationid).toBe(
      '01972b5c-ee00-7000-8000-00000000e001',
    );
  });

  it.each([{ causationid: 5 }, { causationid: '' }, { causationid: null }])(
    'rejects causationid $causationid with its pointer',
    (extra) => {
      const parsed = parseInputLine(line(extra), 'in.jsonl', 3);
      expect(parsed !== undefined && isRejected(parsed)).toBe(true);
      if (parsed !== undefined && isRejected(parsed)) {
        expect(parsed).toMatchObject({ reason: 'ingress.bad_line', location: 'in.jsonl:3:1' });
        expect(parsed.issues?.map((i) => i.pointer)).toEqual(['/causationid']);
      }
    },
  );
});

describe('parseInputLine: numbers out of range', () => {
  it.each([
    ['1e400', '/data/score'],
    ['-1e400', '/data/score'],
  ])('rejects %s (Infinity once parsed) with its pointer, instead of recording null', (n, pointer) => {
    const text = `{"source":"hooks","type":"t.v1","subject":"s:1","data":{"score":${n}}}`;
    const parsed = parseInputLine(text, 'in.jsonl', 2);
    if (parsed === undefined || !isRejected(parsed)) throw new Error('accepted a number out of range');
    expect(parsed).toMatchObject({ reason: 'ingress.bad_line', location: 'in.jsonl:2:1', raw: text });
    expect(parsed.issues?.map((i) => i.pointer)).toEqual([pointer]);
  });
});

describe('parseInputLine: broken Unicode', () => {
  it.each([
    ['{"text":"\\ud800"}', '/data/text'],
    ['{"list":["ok","\\udfff x"]}', '/data/list/1'],
    ['{"\\ud800":1}', '/data/\ufffd'],
  ])('rejects %s with its pointer, where the gate quarantined it with none', (data, pointer) => {
    const text = `{"source":"hooks","type":"t.v1","subject":"s:1","data":${data}}`;
    const parsed = parseInputLine(text, 'in.jsonl', 4);
    if (parsed === undefined || !isRejected(parsed)) throw new Error('accepted a lone surrogate');
    expect(parsed).toMatchObject({ reason: 'ingress.bad_line', location: 'in.jsonl:4:1', raw: text });
    expect(parsed.issues?.map((i) => i.pointer)).toEqual([pointer]);
  });
});

describe('parseInputLine: a member name given twice', () => {
  it('rejects the line at the name, instead of keeping the last value and dropping the first', () => {
    const text = '{"source":"hooks","type":"t.v1","subject":"s:1","data":{"amount":1,"amount":1000}}';
    const parsed = parseInputLine(text, 'in.jsonl', 6);
    if (parsed === undefined || !isRejected(parsed)) throw new Error('accepted a name given twice');
    expect(parsed).toMatchObject({ reason: 'ingress.bad_line', location: 'in.jsonl:6:1', raw: text });
    expect(parsed.issues?.map((i) => i.pointer)).toEqual(['/data/amount']);
  });
});

describe('parseInputLine: where a line that is not JSON goes wrong', () => {
  it.each([
    ['a line cut short', '{"source":"ops", "type": ', 26],
    ['a line with a position in the parser’s message', '{"source":"a"} x', 16],
  ])('%s → its column', (_, text, col) => {
    const parsed = parseInputLine(text, 'in.jsonl', 5);
    expect(parsed !== undefined && isRejected(parsed) && parsed.location).toBe(`in.jsonl:5:${col}`);
  });
});
