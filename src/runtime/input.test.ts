import { describe, expect, it } from 'vitest';
import { isRejected, parseInputLine } from './input.js';

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
