import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { makeError } from '../envelope/index.js';
import { errorLogFields } from './error-log.js';
import { runtimeError } from './errors.js';

const remoteError = makeError({
  MW_TEST_TIMEOUT: '{who} did not answer within {ms} ms',
  MW_TEST_MAPPING: '{who}: its mapping at {pointer} failed',
});

/** One warn line as pino writes it, parsed. */
function logged(fields: object): Record<string, unknown> {
  let text = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  pino({ level: 'warn' }, sink).warn({ msgId: 'm1', ...fields }, 'message dead-lettered');
  return JSON.parse(text) as Record<string, unknown>;
}

describe('errorLogFields', () => {
  it.each([
    [
      'a typed error: code and message, no stack',
      remoteError('MW_TEST_TIMEOUT', { who: 'agent t', ms: 200 }, { cause: new Error('aborted') }),
      { code: 'MW_TEST_TIMEOUT' },
    ],
    [
      'a typed error with a location: the location too',
      remoteError(
        'MW_TEST_MAPPING',
        { who: 'agent t', pointer: '/request' },
        { location: { pointer: '/request' } },
      ),
      {
        code: 'MW_TEST_MAPPING',
        location: { pointer: '/request' },
      },
    ],
    [
      'a handler that threw a typed error (wrapped): no stack',
      runtimeError(
        'MW_RUNTIME_HANDLER',
        { agent: 'a', msgId: 'm', cause: 'x' },
        { cause: remoteError('MW_TEST_TIMEOUT') },
      ),
      { code: 'MW_RUNTIME_HANDLER' },
    ],
  ])('%s', (_, error, expected) => {
    const line = logged(errorLogFields(error));
    expect(line).toMatchObject({ ...expected, error: error.message });
    expect(line.err).toBeUndefined();
    expect(JSON.stringify(line)).not.toContain('    at ');
  });

  it('keeps the stack of what a handler threw untyped (a bug)', () => {
    const bug = new TypeError('x is not a function');
    const error = runtimeError(
      'MW_RUNTIME_HANDLER',
      { agent: 'a', msgId: 'm', cause: bug.message },
      { cause: bug },
    );
    const line = logged(errorLogFields(error));
    expect(line).toMatchObject({
      code: 'MW_RUNTIME_HANDLER',
      err: { type: 'TypeError', message: bug.message },
    });
    expect((line.err as { stack: string }).stack).toContain('    at ');
  });

  it('keeps the stack of an error that is not typed', () => {
    const line = logged(errorLogFields(new RangeError('out of range')));
    expect(line.code).toBeUndefined();
    expect(line.err).toMatchObject({ type: 'RangeError', message: 'out of range' });
    expect((line.err as { stack: string }).stack).toContain('    at ');
  });
});
