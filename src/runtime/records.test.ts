import { describe, expect, it } from 'vitest';
import { canonicalize, type Envelope, type JsonValue } from '../envelope/index.js';
import { runtimeError } from './errors.js';
import { ENTRY, effectExecutedRecord, failureRecord } from './records.js';

const request = { id: 'r1', type: 'deploy.run', subject: 'service:api' } as unknown as Envelope;

describe('records the ledger can always hold', () => {
  it.each<[string, JsonValue]>([
    ['a lone surrogate', { note: 'bad \ud800 text' }],
    ['a lone surrogate as a member name', { '\udc00': 1 }],
  ])("keeps an executor's result with %s as a readable rendering", (_, result) => {
    const record = effectExecutedRecord(0, request, 1, result);
    expect(() => canonicalize(record.data)).not.toThrow();
    expect(record.data).toMatchObject({ result: { unrecordable: expect.any(String) } });
  });

  it('keeps a plain result as it is', () => {
    expect(effectExecutedRecord(0, request, 1, { deployed: 3 }).data).toMatchObject({
      result: { deployed: 3 },
    });
  });

  it('bounds an error text and makes it well-formed', () => {
    const error = runtimeError('MW_RUNTIME_EXECUTOR', {
      effect: 'deploy.run',
      cause: `\ud800${'x'.repeat(5000)}`,
    });
    const record = failureRecord(ENTRY.deadLetter, 0, request, 'effect:deploy.run', 1, error);
    expect(() => canonicalize(record.data)).not.toThrow();
    const { message } = (record.data as { error: { message: string } }).error;
    expect(message.length).toBeLessThanOrEqual(1025);
  });
});
